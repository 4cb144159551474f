"""Text as the phrasebook keeps it: one kind of space, no direction marks."""

from __future__ import annotations

_SPACES = {"\u00a0": " ", "\u202f": " ", "\u2009": " "}
_DIRECTION_MARKS = ("\u200e", "\u200f", "\u061c")


def normalise(text: str) -> str:
    """Plain spaces and no direction marks, so equal-looking strings are equal."""
    for odd, plain in _SPACES.items():
        text = text.replace(odd, plain)
    for mark in _DIRECTION_MARKS:
        text = text.replace(mark, "")
    return " ".join(text.split())
