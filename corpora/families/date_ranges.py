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

from babel import Locale
from babel.dates import format_interval, match_skeleton

from plugmt.corpora.families.dates import date_meanings, every_day
from plugmt.corpora.families.patterns import date_pattern
from plugmt.corpora.families.registry import Family, Renderer, Years, register

SKELETON = "yMMMd"
_LENGTHS_IN_DAYS = (1, 2, 3, 4, 6, 9, 13, 20, 27, 45, 60, 100, 200, 400)

Range = tuple[dt.date, dt.date]


def _ranges(years: Years) -> list[tuple[str, Range]]:
    meanings = []
    for i, (_, start) in enumerate(every_day(years)):
        end = start + dt.timedelta(days=_LENGTHS_IN_DAYS[i % len(_LENGTHS_IN_DAYS)])
        meanings.append((f"{start.isoformat()}/{end.isoformat()}", (start, end)))
    return meanings


def _renderer(locale: Locale) -> Renderer:
    formats = locale.interval_formats
    skeleton = SKELETON if SKELETON in formats else match_skeleton(SKELETON, formats)
    halves = {}
    for field in ("y", "M", "d"):
        patterns = formats.get(skeleton, {}).get(field) if skeleton else None
        if patterns and len(patterns) == 2:
            halves[field] = (date_pattern(patterns[0], locale), date_pattern(patterns[1], locale))

    def render(value: Range) -> str:
        start, end = value
        field = "y" if start.year != end.year else "M" if start.month != end.month else "d"
        if field not in halves:  # the locale has no pattern for this shape: Babel's fallback
            return format_interval(start, end, SKELETON, locale=locale)
        first, second = halves[field]
        return first(start) + second(end)

    return render


register(
    Family(
        "date_range",
        meanings=_ranges,
        renderer=_renderer,
        iso=lambda value: f"{value[0].isoformat()}/{value[1].isoformat()}",
        default_size=5000,
        contains=lambda key, value: date_meanings(value[0]) + date_meanings(value[1]),
    )
)
