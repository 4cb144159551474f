"""The embedded phrasebook: multi-way parallel dates rendered by CLDR (through Babel).

One *meaning* (a date in one style) is rendered in every language, plus the `iso` pseudo-language
(YYYY-MM-DD, the tutorial's target). Meanings are split by a hash of the date, so every rendering of a
test date, in every style and language, is absent from training. Any meaning whose rendering in some
language collides with an earlier meaning's is dropped, so every string has exactly one meaning.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from babel import Locale, UnknownLocaleError
from babel.dates import get_date_format

from plugmt.errors import PlugmtError

# Families this generator knows: name -> Babel date format length.
DATE_FAMILIES = {"date_full": "full", "date_long": "long", "date_medium": "medium"}
TARGET_ONLY = ("iso",)
# Bump when the generator's output changes: it is part of the cache key.
GENERATOR_VERSION = 1

_SPACES = {"\u00a0": " ", "\u202f": " ", "\u2009": " "}
_DIRECTION_MARKS = ("\u200e", "\u200f", "\u061c")


@dataclass
class PhrasebookSettings:
    languages: Sequence[str] = ("en", "fr", "de", "es", "pt", "it", "iso")
    families: Sequence[str] = ("date_full", "date_long", "date_medium")
    first_year: int = 1950
    last_year: int = 2049
    valid_fraction: float = 0.05
    test_fraction: float = 0.05
    extra: dict = field(default_factory=dict)


def normalise(text: str) -> str:
    """Plain spaces and no direction marks, so equal-looking strings are equal."""
    for odd, plain in _SPACES.items():
        text = text.replace(odd, plain)
    for mark in _DIRECTION_MARKS:
        text = text.replace(mark, "")
    return " ".join(text.split())


def split_of(key: str, valid_fraction: float, test_fraction: float) -> str:
    """Stable split for a meaning key: every rendering of one key lands in one split."""
    position = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2**64
    if position < test_fraction:
        return "test"
    if position < test_fraction + valid_fraction:
        return "valid"
    return "train"


def _date_renderers(languages: Sequence[str], style: str):
    renderers = {}
    for lang in languages:
        if lang == "iso":
            renderers[lang] = lambda day: day.isoformat()
            continue
        try:
            locale = Locale.parse(lang)
        except (ValueError, LookupError, UnknownLocaleError):
            raise PlugmtError(f"phrasebook language {lang!r} is not a CLDR locale Babel knows") from None
        pattern = get_date_format(style, locale=locale)
        renderers[lang] = lambda day, p=pattern, loc=locale: normalise(p.apply(day, loc))
    return renderers


def generate(settings: PhrasebookSettings) -> dict[str, list[str]]:
    """Columns `meaning`, `group`, `split` and one per language; deterministic for given settings."""
    unknown = sorted(set(settings.families) - set(DATE_FAMILIES))
    if unknown:
        raise PlugmtError(f"unknown phrasebook family {unknown[0]!r}; known: {', '.join(DATE_FAMILIES)}")
    if settings.first_year > settings.last_year:
        raise PlugmtError(
            f"data.first_year={settings.first_year} is after data.last_year={settings.last_year}"
        )
    languages = list(dict.fromkeys(settings.languages))
    natural = [lang for lang in languages if lang not in TARGET_ONLY]
    first = dt.date(settings.first_year, 1, 1)
    days = (dt.date(settings.last_year, 12, 31) - first).days + 1
    dates = [first + dt.timedelta(days=i) for i in range(days)]
    columns: dict[str, list[str]] = {"meaning": [], "group": [], "split": []}
    columns.update({lang: [] for lang in languages})
    seen: dict[str, set[str]] = {lang: set() for lang in natural}
    for family in settings.families:
        render = _date_renderers(languages, DATE_FAMILIES[family])
        for day in dates:
            texts = {lang: render[lang](day) for lang in languages}
            if any(texts[lang] in seen[lang] for lang in natural):
                continue  # ambiguous: this string already means something else
            for lang in natural:
                seen[lang].add(texts[lang])
            key = day.isoformat()
            columns["meaning"].append(f"{family}:{key}")
            columns["group"].append(family)
            columns["split"].append(split_of(key, settings.valid_fraction, settings.test_fraction))
            for lang in languages:
                columns[lang].append(texts[lang])
    return columns
