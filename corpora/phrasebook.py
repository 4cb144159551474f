"""The embedded phrasebook: multi-way parallel phrases rendered by CLDR (through Babel) and num2words.

One *meaning* (a date in one style, an amount of money, a number...) is rendered in every language,
plus the `iso` pseudo-language: a canonical, language-free form of every family (ISO 8601 dates and
durations, unit symbols, currency and country codes, digits). Each family is one module in
`corpora/families/`; this module picks the requested ones, keeps every string unambiguous and splits.
A meaning whose rendering in some language collides with an earlier meaning's is dropped, so every string
has exactly one meaning; a meaning some language cannot render is dropped too, so every row is complete.

Splits. A meaning's key (the date 2026-05-05, the amount "12.50 EUR") is hashed into train, valid or
test (`split_of`), and every rendering of the meaning, in every language, goes there; train-only
families (names of countries, languages...) always go to train. But a rendering may hold other
meanings' renderings: "May 5" (month_day) is inside "May 5, 2026", the medium date "Sep 26, 1950"
inside the range "Mar 10 – Sep 26, 1950", "5 meters" inside "5 meters per second". So a meaning goes to
the strictest (test > valid > train) of its own split and the splits of the meanings it contains,
directly or through others. What a meaning contains is
  - declared, for dates and ranges (`Family.contains`): a date in any style holds its month+day and
    its year+month; a range holds both endpoints' dates (every style) and their month+days and
    year+months;
  - found by text, among month+days, year+months, quarters, relative times, quantities and amounts of
    money (`Family.linked_by_text`): one holds another when the other's rendering, in some language of
    the corpus (iso too), is a word-bounded part of its own (`TOKEN`). This links "5 meters per second"
    to "5 meters" and, in iso, "-PT6S" to "PT6S"; which meanings are linked depends on data.languages.
Only meanings in the corpus count: without month_day and month_year (data=phrasebook: three date styles,
which share their key) every date splits by its key alone, exactly as before these rules.

Guaranteed: no valid or test rendering, in any language, is a training string of that language or a
word-bounded part of one, for every family but cardinals (tests/test_phrasebook.py checks it on every
family and language of data=phrasebook_full, where no containment outside the two rules above occurs).
Cardinals (`Family.compositional`) are built from one another ("twenty-one" holds "twenty" and "one";
Japanese 二千五百 holds 二千五), and "sept" (7) and "dez" (10) are also French and Portuguese month
abbreviations: a held-out cardinal is never a training string, but may be a part of one (in
phrasebook_full, 359 of the 1,018 held-out cardinals are, in some language). Holding out every cardinal
that contains a held-out one would leave 1,793 of the 10,000 for training, so this is out of scope.

The price: with month_day and month_year in the corpus, a date is held out when its month+day or
year+month is, so data=phrasebook_full holds out 26% of dates and 50% of ranges instead of 10%
(valid_fraction and test_fraction are fractions of each key: dates, month+days, year+months...).
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from babel import Locale, UnknownLocaleError

from plugmt.corpora.families import FAMILIES, Family, Years
from plugmt.corpora.families.text import normalise
from plugmt.errors import PlugmtError
from plugmt.progress import eta

# The date families of the first phrasebook, kept importable for callers that name them.
DATE_FAMILIES = {"date_full": "full", "date_long": "long", "date_medium": "medium"}
TARGET_ONLY = ("iso",)
# Bump when the generator's output changes: it is part of the cache key.
GENERATOR_VERSION = 3
_SPLITS = ("train", "valid", "test")  # from least to most strict
_RANK = {split: rank for rank, split in enumerate(_SPLITS)}
# Scripts written without spaces: each character is a token.
_UNSPACED = "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_MARKS = "\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0670"
# A token: a number (12.50 and 2,5 are one), a word (letters and their combining marks), one
# character of a script without spaces, or any other single non-space character.
TOKEN = re.compile(rf"\d+(?:[.,]\d+)*|[{_UNSPACED}]|(?:[^\W\d_{_UNSPACED}]|[{_MARKS}])+|\S")


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
    rows: list[tuple[Family, str, Any]] = []  # (family, key, value) of every row
    generation = time.perf_counter()
    for number, family in enumerate(families, 1):
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
            for lang in languages:
                columns[lang].append(texts[lang])
            rows.append((family, key, value))
            kept += 1
        log.info(
            f"phrasebook family {number}/{len(families)} {family.name}: {kept} rows in "
            f"{time.perf_counter() - started:.1f}s (dropped {ambiguous} ambiguous, {unrenderable} not "
            f"renderable in every language){eta(number, len(families), time.perf_counter() - generation)}"
        )
    columns["split"] = _splits(columns, rows, languages, settings.valid_fraction, settings.test_fraction)
    return columns


def _splits(
    columns: Mapping[str, list[str]],
    rows: Sequence[tuple[Family, str, Any]],
    languages: Sequence[str],
    valid_fraction: float,
    test_fraction: float,
) -> list[str]:
    """Each row's split: the strictest (test > valid > train) of its own key's and those of the
    meanings its renderings contain, directly or through others; train-only rows stay in train."""
    rank = [
        0 if family.train_only else _RANK[split_of(key, valid_fraction, test_fraction)]
        for family, key, _ in rows
    ]
    index = {meaning: i for i, meaning in enumerate(columns["meaning"])}
    links: set[tuple[int, int]] = set()  # (outer, inner): inner's rendering is inside outer's
    for outer, (family, key, value) in enumerate(rows):
        for inner in family.contains(key, value):
            if inner in index and not family.train_only:
                links.add((outer, index[inner]))
    linked = [i for i, (family, _, _) in enumerate(rows) if family.linked_by_text and not family.train_only]
    for lang in languages:
        links.update(_links_by_text(columns[lang], linked))
    ordered = sorted(links)
    changed = True
    while changed:  # to a fixed point: a range holding a date holding a held-out month+day
        changed = False
        for outer, inner in ordered:
            if rank[inner] > rank[outer]:
                rank[outer] = rank[inner]
                changed = True
    return [_SPLITS[r] for r in rank]


def _links_by_text(texts: Sequence[str], rows: Sequence[int]) -> set[tuple[int, int]]:
    """(outer, inner) among `rows`: inner's text is a word-bounded part of outer's.

    A part starts and ends at token edges (`TOKEN`): "5 meters" is a part of "5 meters per second",
    "May 1" is not a part of "May 15, 2026", nor "50 euros" of "12.50 euros"; in Japanese every
    character is a token. Parts are grown token by token from each start and given up on as soon as
    no text of `rows` begins with them.
    """
    where: dict[str, list[int]] = {}
    beginnings = set()
    spans_of = {}
    for i in rows:
        text = texts[i]
        where.setdefault(text, []).append(i)
        spans_of[i] = spans = [match.span() for match in TOKEN.finditer(text)]
        beginnings.update([text[:end] for _, end in spans])
    links = set()
    for outer in rows:
        text = texts[outer]
        spans = spans_of[outer]
        for k, (start, _) in enumerate(spans):
            for _, end in spans[k:]:
                part = text[start:end]
                if part not in beginnings:
                    break
                for inner in where.get(part, ()):
                    if inner != outer:
                        links.add((outer, inner))
    return links


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
