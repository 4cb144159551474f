"""Whole dates in CLDR's full, long and medium styles ("Tuesday, May 5, 2026"); ISO YYYY-MM-DD.

The key is the bare date, so every style of one date shares a split. Short styles are left out: their
two-digit years make thousands of strings ambiguous and they carry no words.
"""

from __future__ import annotations

import datetime as dt

from babel import Locale
from babel.dates import get_date_format

from plugmt.corpora.families.patterns import date_pattern
from plugmt.corpora.families.registry import Family, Renderer, Years, register


def every_day(years: Years) -> list[tuple[str, dt.date]]:
    first = dt.date(years.first, 1, 1)
    count = (dt.date(years.last, 12, 31) - first).days + 1
    days = [first + dt.timedelta(days=i) for i in range(count)]
    return [(day.isoformat(), day) for day in days]


def _style_renderer(style: str):
    def renderer(locale: Locale) -> Renderer:
        return date_pattern(get_date_format(style, locale=locale), locale)

    return renderer


for _style in ("full", "long", "medium"):
    register(
        Family(
            f"date_{_style}",
            meanings=every_day,
            renderer=_style_renderer(_style),
            iso=dt.date.isoformat,
        )
    )
