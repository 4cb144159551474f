"""Rules for a setting's value: each refuses a bad value with one line naming the key, the value as
typed and what is allowed. `checks` assigns them to the keys of every config group."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Any

from plugmt.errors import PlugmtError

Rule = Callable[[str, Any], None]
SAFE_TEXT = 'plugmt-translate decoder=<lang> -- "May 5, 2016" "a=b"'


def shown(value: Any) -> str:
    """A value as a user would have typed it on the command line."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return value if value else "''"
    if isinstance(value, Sequence):
        return "[" + ",".join(shown(v) for v in value) + "]"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a typed float setting given as `-1` reads -1.0 once composed
    return str(value)


def refuse(key: str, value: Any, why: str, allowed: str) -> None:
    raise PlugmtError(f"{key}={shown(value)}: {why} (allowed: {allowed})")


def as_whole(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        return int(value)
    return None


def as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def whole(minimum: int, null: str | None = None) -> Rule:
    """A whole number >= minimum; with `null`, also null (meaning `null`)."""
    allowed = f"a whole number >= {minimum}" + (f", or null for {null}" if null else "")

    def rule(key: str, value: Any) -> None:
        if value is None and null:
            return
        number = as_whole(value)
        if number is None:
            refuse(key, value, "not a whole number", allowed)
        elif number < minimum:
            refuse(key, value, "too small", allowed)

    return rule


def number(
    minimum: float | None = None,
    above: bool = False,
    null: str | None = None,
    example: str = "",
    below: float | None = None,
) -> Rule:
    """A finite number; `minimum` is a bound (exclusive with `above`), `below` an exclusive upper
    bound; with `null`, also null."""
    bound = "a finite number" if minimum is None else f"a number {'>' if above else '>='} {minimum:g}"
    bound += "" if below is None else f" and < {below:g}"
    allowed = bound
    allowed += f", e.g. {example}" if example else ""
    allowed += f", or null for {null}" if null else ""

    def rule(key: str, value: Any) -> None:
        if value is None and null:
            return
        given = as_number(value)
        if given is None:
            refuse(key, value, "not a number", allowed)
        elif not math.isfinite(given):
            refuse(key, value, "not a finite number", allowed)
        elif minimum is not None and (given <= minimum if above else given < minimum):
            refuse(key, value, "too small", allowed)
        elif below is not None and given >= below:
            refuse(key, value, "too large", allowed)

    return rule


def choice(options: Sequence[str], null: str | None = None) -> Rule:
    allowed = ", ".join(options) + (f", or null for {null}" if null else "")

    def rule(key: str, value: Any) -> None:
        if value is None and null:
            return
        if not isinstance(value, str) or value not in options:
            refuse(key, value, "not one of the choices", allowed)

    return rule


def boolean(key: str, value: Any) -> None:
    if not isinstance(value, bool):
        refuse(key, value, "not true or false", "true, false")


def text(null: str | None = None) -> Rule:
    allowed = "a string" + (f", or null for {null}" if null else "")

    def rule(key: str, value: Any) -> None:
        if value is None and null:
            return
        if not isinstance(value, str) or not value:
            refuse(key, value, "not a name or a path", allowed)

    return rule


def strings(null: str | None = None) -> Rule:
    """A list of strings (languages, ids); with `null`, also null."""
    allowed = "a list such as [en,fr]" + (f", or null for {null}" if null else "")

    def rule(key: str, value: Any) -> None:
        if value is None and null:
            return
        if isinstance(value, str) or not isinstance(value, Sequence):
            refuse(key, value, "not a list", allowed)
        for item in value:
            if not isinstance(item, str) or not item:
                refuse(key, value, f"{shown(item)} is not a name", allowed)

    return rule


def beam_size(key: str, value: Any) -> None:
    """The one rule whose message predates this module (docs/BAD_INPUT.md row 38)."""
    size = as_whole(value)
    if size is None or size < 1:
        raise PlugmtError(f"{key}={shown(value)}: it must be 1 (greedy) or more")


def encoder_id(key: str, value: Any) -> None:
    """A stored encoder's id (`<architecture>-<12 hex digits>`) or a unique prefix of one: text."""
    if value is None:
        return
    if not isinstance(value, str) or not value.strip():
        refuse(
            key,
            value,
            "not an encoder id",
            "a stored encoder's id or a unique prefix of one, such as lstm-0123456789ab "
            "(plugmt-registry list shows them), or null for the newest",
        )


def sentences(key: str, value: Any) -> None:
    """`text=` is a list of sentences; a lone string would be read character by character."""
    if isinstance(value, str) or not isinstance(value, Sequence):
        refuse(
            key,
            value,
            "a single value, not a list of sentences",
            f"a list: 'text=[\"May 5, 2016\"]', or the sentences after --: {SAFE_TEXT}",
        )
    for item in value:
        if not isinstance(item, str):
            refuse(
                key,
                value,
                f"{shown(item)} is not quoted text",
                f"a list of quoted sentences: 'text=[\"{shown(item)}\"]', or after --: {SAFE_TEXT}",
            )
