"""What a phrasebook family is, and the registry that `data.families` names are looked up in.

A family is one kind of meaning (a date in one style, an amount of money, a country's name) that CLDR
or num2words can render in many languages. Adding a family is one module in this folder that calls
`register`; the generator knows nothing about any family in particular.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from babel import Locale

# A renderer turns one meaning's value into text in one language, or None when that language cannot
# say it properly (a raw unit id, a missing name): such a meaning is dropped for every language.
Renderer = Callable[[Any], "str | None"]


@dataclass(frozen=True)
class Years:
    """The calendar span the date-like families draw their meanings from."""

    first: int
    last: int


@dataclass(frozen=True)
class Family:
    """One kind of meaning: its universe, how each language renders it, and its ISO canonical form.

    `meanings` lists (key, value) pairs in a stable order; the key names the meaning (it is hashed for
    the split) and the value is what renderers receive. `unsupported(lang)` says why a language cannot
    render this family at all (None when it can); `train_only` families never reach valid/test.

    What a meaning's renderings contain decides its split too (see `corpora/phrasebook.py`):
    `contains(key, value)` names, as "family:key", the meanings whose renderings occur inside this
    one's by construction ("May 5" inside "May 5, 2026"); `linked_by_text` families have the generator
    find that by text instead, among all such families' renderings ("5 meters" inside "5 meters per
    second"); `compositional` families are built from their own renderings ("twenty" inside
    "twenty-one"), so only their whole strings are kept out of training.
    """

    name: str
    meanings: Callable[[Years], list[tuple[str, Any]]]
    renderer: Callable[[Locale], Renderer]
    iso: Callable[[Any], str]
    train_only: bool = False
    default_size: int | None = None  # meanings kept when data.family_sizes does not say; None: all
    unsupported: Callable[[str], str | None] = lambda lang: None
    contains: Callable[[str, Any], Sequence[str]] = lambda key, value: ()
    linked_by_text: bool = False
    compositional: bool = False
    # Other renderings of a meaning (by key) that say the same thing, which a training source may be
    # read in (train.source_variants, corpora/variants.py); each must hold only what `contains` names
    variants: Callable[[Locale], Callable[[str], list[str]]] | None = None


FAMILIES: dict[str, Family] = {}


def register(family: Family) -> Family:
    """Make `family` selectable by name in `data.families`."""
    if family.name in FAMILIES:
        raise ValueError(f"phrasebook family {family.name!r} is registered twice")
    FAMILIES[family.name] = family
    return family
