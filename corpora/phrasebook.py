"""The embedded phrasebook: multi-way parallel phrases rendered by CLDR (through Babel) and num2words.

One *meaning* (a date in one style, an amount of money, a number...) is rendered in every language,
plus the `iso` pseudo-language: a canonical, language-free form of every family (ISO 8601 dates and
durations, unit symbols, currency and country codes, digits). Each family is one module in
`corpora/families/`; this module picks the requested ones, keeps every string unambiguous and splits.

Meanings are split by a hash of their key, so every rendering of a test meaning, in every language, is
absent from training; train-only families (names of countries, languages...) always go to train. A
meaning whose rendering in some language collides with an earlier meaning's is dropped, so every string
has exactly one meaning; a meaning some language cannot render is dropped too, so every row is complete.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from babel import Locale, UnknownLocaleError

from plugmt.corpora.families import FAMILIES, Family, Years
from plugmt.errors import PlugmtError

# The date families of the first phrasebook, kept importable for callers that name them.
DATE_FAMILIES = {"date_full": "full", "date_long": "long", "date_medium": "medium"}
TARGET_ONLY = ("iso",)
# Bump when the generator's output changes: it is part of the cache key.
GENERATOR_VERSION = 2

_SPACES = {"\u00a0": " ", "\u202f": " ", "\u2009": " "}
_DIRECTION_MARKS = ("\u200e", "\u200f", "\u061c")

log = logging.getLogger("plugmt")


@dataclass
class PhrasebookSettings:
    languages: Sequence[str] = ("en", "fr", "de", "es", "pt", "it", "iso")
    families: Sequence[str] = ("date_full", "date_long", "date_medium")
    first_year: int = 1950
    last_year: int = 2049
    valid_fraction: float = 0.05
    test_fraction: float = 0.05
    # family -> most meanings to keep (a stable, evenly spread subset); absent: the family's default
    # (all its meanings, except date_range: 5000).
    family_sizes: Mapping[str, int] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)


def settings_from(values: Mapping[str, Any]) -> PhrasebookSettings:
    """Settings from a `data:` config (plain lists and dicts, so they hash and compare as values)."""
    known = PhrasebookSettings.__dataclass_fields__
    spec = PhrasebookSettings(**{k: v for k, v in values.items() if k in known})
    spec.languages = [str(lang) for lang in spec.languages]
    spec.families = [str(name) for name in spec.families]
    # null in the config: the family's default size
    spec.family_sizes = {str(k): v for k, v in dict(spec.family_sizes or {}).items() if v is not None}
    return spec


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


def generate(settings: PhrasebookSettings) -> dict[str, list[str]]:
    """Columns `meaning`, `group`, `split` and one per language; deterministic for given settings."""
    families = _families(settings)
    if settings.first_year > settings.last_year:
        raise PlugmtError(
            f"data.first_year={settings.first_year} is after data.last_year={settings.last_year}"
        )
    languages = list(dict.fromkeys(settings.languages))
    natural = [lang for lang in languages if lang not in TARGET_ONLY]
    locales = {lang: _locale(lang) for lang in natural}
    for family in families:
        for lang in natural:
            reason = family.unsupported(lang)
            if reason:
                raise PlugmtError(
                    f"phrasebook family {family.name!r} cannot render language {lang!r} ({reason}); "
                    f"remove {family.name} from data.families or {lang} from data.languages"
                )
    years = Years(settings.first_year, settings.last_year)
    columns: dict[str, list[str]] = {"meaning": [], "group": [], "split": []}
    columns.update({lang: [] for lang in languages})
    seen: dict[str, set[str]] = {lang: set() for lang in natural}
    fractions = (settings.valid_fraction, settings.test_fraction)
    for family in families:
        started = time.perf_counter()
        renderers = {lang: family.renderer(locales[lang]) for lang in natural}
        size = settings.family_sizes.get(family.name, family.default_size)
        kept = ambiguous = unrenderable = 0
        for key, value in _chosen(family, family.meanings(years), size):
            texts = {}
            for lang in natural:
                text = renderers[lang](value)
                texts[lang] = normalise(text) if text else ""
            if not all(texts.values()):
                unrenderable += 1
                continue
            if any(texts[lang] in seen[lang] for lang in natural):
                ambiguous += 1  # this string already means something else
                continue
            for lang in natural:
                seen[lang].add(texts[lang])
            if "iso" in languages:
                texts["iso"] = family.iso(value)
            columns["meaning"].append(f"{family.name}:{key}")
            columns["group"].append(family.name)
            columns["split"].append("train" if family.train_only else split_of(key, *fractions))
            for lang in languages:
                columns[lang].append(texts[lang])
            kept += 1
        log.info(
            f"phrasebook {family.name}: {kept} rows in {time.perf_counter() - started:.1f}s "
            f"(dropped {ambiguous} ambiguous, {unrenderable} not renderable in every language)"
        )
    return columns


def _families(settings: PhrasebookSettings) -> list[Family]:
    known = ", ".join(FAMILIES)
    for name in [*settings.families, *settings.family_sizes]:
        if name not in FAMILIES:
            raise PlugmtError(f"unknown phrasebook family {name!r}; known: {known}")
    for name, size in settings.family_sizes.items():
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise PlugmtError(f"data.family_sizes.{name}={size!r} must be a whole number of meanings >= 1")
    return [FAMILIES[name] for name in dict.fromkeys(settings.families)]


def _locale(lang: str) -> Locale:
    try:
        return Locale.parse(lang)
    except (ValueError, LookupError, TypeError, UnknownLocaleError):
        raise PlugmtError(
            f"phrasebook language {lang!r} is not a CLDR locale Babel knows; use codes like en, fr, zh"
        ) from None


def _chosen(family: Family, meanings: list[tuple[str, Any]], size: int | None) -> list[tuple[str, Any]]:
    """At most `size` meanings, spread evenly by a hash unrelated to the split's, in their own order.

    Raising the size only adds meanings, so a bigger corpus contains the smaller one.
    """
    if size is None or size >= len(meanings):
        return meanings

    def rank(key: str) -> bytes:
        return hashlib.sha256(f"size:{family.name}:{key}".encode()).digest()

    keep = set(sorted((key for key, _ in meanings), key=rank)[:size])
    return [(key, value) for key, value in meanings if key in keep]
