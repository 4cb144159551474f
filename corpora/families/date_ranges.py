"""Date ranges through CLDR interval formats ("May 5 – 7, 2026"); ISO 8601 intervals
(2026-05-05/2026-05-07).

Each day of the year span starts one range whose length cycles through spans that stay in a month,
cross a month or cross a year, so the three interval shapes all occur.

A range shows its endpoints: "Dec 20, 2025 – Jan 5, 2026" holds two medium dates, "5–7 mars 2026" the
long date "7 mars 2026" and the year+month "mars 2026", "2026年5月5日～7日" the start date. So a
range contains every meaning either endpoint's rendering may show (`dates.date_meanings`) and is held
out whenever one of those is.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from babel import Locale
from babel.dates import format_interval, match_skeleton

from plugmt.corpora.families.dates import date_meanings, every_day
from plugmt.corpora.families.patterns import date_pattern
from plugmt.corpora.families.registry import Family, Renderer, Years, register
from plugmt.corpora.families.text import normalise

SKELETON = "yMMMd"
_MONTH_ABBREVIATED = re.compile(r"(?<![ML])([ML])\1\1(?![ML])")  # MMM or LLL, not MMMM
_LENGTHS_IN_DAYS = (1, 2, 3, 4, 6, 9, 13, 20, 27, 45, 60, 100, 200, 400)

Range = tuple[dt.date, dt.date]


def _ranges(years: Years) -> list[tuple[str, Range]]:
    meanings = []
    for i, (_, start) in enumerate(every_day(years)):
        end = start + dt.timedelta(days=_LENGTHS_IN_DAYS[i % len(_LENGTHS_IN_DAYS)])
        meanings.append((f"{start.isoformat()}/{end.isoformat()}", (start, end)))
    return meanings


def _halves(locale: Locale, wide: bool = False) -> dict[str, tuple[Callable[[dt.date], str], ...]]:
    """The locale's interval patterns by the field that differs (y, M, d): each a pair of renderers
    for the start and the end; `wide`: with the months' full names (MMM -> MMMM)."""
    formats = locale.interval_formats
    skeleton = SKELETON if SKELETON in formats else match_skeleton(SKELETON, formats)
    halves = {}
    for field in ("y", "M", "d"):
        patterns = formats.get(skeleton, {}).get(field) if skeleton else None
        if patterns and len(patterns) == 2:
            texts = [_MONTH_ABBREVIATED.sub(r"\1\1\1\1", str(p)) if wide else str(p) for p in patterns]
            halves[field] = tuple(date_pattern(text, locale) for text in texts)
    return halves


def _shape(value: Range) -> str:
    start, end = value
    return "y" if start.year != end.year else "M" if start.month != end.month else "d"


def _renderer(locale: Locale) -> Renderer:
    halves = _halves(locale)

    def render(value: Range) -> str:
        start, end = value
        field = _shape(value)
        if field not in halves:  # the locale has no pattern for this shape: Babel's fallback
            return format_interval(start, end, SKELETON, locale=locale)
        first, second = halves[field]
        return first(start) + second(end)

    return render


def _variants(locale: Locale) -> Callable[[str], list[str]]:
    """A range said in the locale's other shapes: its months in full, both dates written whole (the
    year and month on each), and both at once; those that differ from the range's own rendering."""
    render = _renderer(locale)
    shapes = {False: _halves(locale), True: _halves(locale, wide=True)}

    def variants(key: str) -> list[str]:
        start, end = (dt.date.fromisoformat(day) for day in key.split("/"))
        own = normalise(render((start, end)))
        texts: list[str] = []
        for field, wide in ((_shape((start, end)), True), ("y", False), ("y", True)):
            if field in shapes[wide]:
                first, second = shapes[wide][field]
                text = normalise(first(start) + second(end))
                if text != own and text not in texts:
                    texts.append(text)
        return texts

    return variants


register(
    Family(
        "date_range",
        meanings=_ranges,
        renderer=_renderer,
        iso=lambda value: f"{value[0].isoformat()}/{value[1].isoformat()}",
        default_size=5000,
        contains=lambda key, value: date_meanings(value[0]) + date_meanings(value[1]),
        variants=_variants,
    )
)
