"""Whole dates in CLDR's full, long and medium styles ("Tuesday, May 5, 2026"); ISO YYYY-MM-DD.

The key is the bare date, so every style of one date shares a split. A date's renderings contain its
month+day ("May 5") and, in most languages, its year+month ("Mai 2026" in "5. Mai 2026"): when those
meanings are in the corpus, a date is held out whenever they are. Short styles are left out: their
two-digit years make thousands of strings ambiguous and they carry no words.
"""

from __future__ import annotations

import datetime as dt

from babel import Locale
from babel.dates import get_date_format

from plugmt.corpora.families.patterns import date_pattern
from plugmt.corpora.families.registry import Family, Renderer, Years, register

STYLES = ("full", "long", "medium")


def month_day_key(day: dt.date) -> str:
    """The month_day meaning of `day` ("--05-05")."""
    return f"--{day.month:02d}-{day.day:02d}"


def month_year_key(day: dt.date) -> str:
    """The month_year meaning of `day` ("2026-05")."""
    return f"{day.year:04d}-{day.month:02d}"


def date_meanings(day: dt.date) -> list[str]:
    """Every meaning a rendering of `day` may show: the date in each style, its month+day and its
    year+month, as "family:key" (a date range shows its endpoints this way)."""
    key = day.isoformat()
    return [f"date_{style}:{key}" for style in STYLES] + _parts(key, day)


def _parts(key: str, day: dt.date) -> list[str]:
    return [f"month_day:{month_day_key(day)}", f"month_year:{month_year_key(day)}"]


def every_day(years: Years) -> list[tuple[str, dt.date]]:
    first = dt.date(years.first, 1, 1)
    count = (dt.date(years.last, 12, 31) - first).days + 1
    days = [first + dt.timedelta(days=i) for i in range(count)]
    return [(day.isoformat(), day) for day in days]


def _style_renderer(style: str):
    def renderer(locale: Locale) -> Renderer:
        return date_pattern(get_date_format(style, locale=locale), locale)

    return renderer


for _style in STYLES:
    register(
        Family(
            f"date_{_style}",
            meanings=every_day,
            renderer=_style_renderer(_style),
            iso=dt.date.isoformat,
            contains=_parts,
        )
    )
