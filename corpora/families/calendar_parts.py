"""Parts of a date through CLDR skeletons: month+day ("May 5", --05-05), month+year ("May 2026",
2026-05) and quarter+year ("2nd quarter 2026", 2026-Q2).

Whole dates and date ranges contain the first two (see `dates.py`); what these contain is looked for
by text (nothing, in the languages CLDR has today).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from babel import Locale
from babel.dates import match_skeleton

from plugmt.corpora.families.dates import month_day_key, month_year_key
from plugmt.corpora.families.patterns import date_pattern
from plugmt.corpora.families.registry import Family, Renderer, Years, register

_LEAP_YEAR = 2000  # month+day meanings are rendered in a leap year so that 29 February exists


def skeleton_renderer(skeleton: str) -> Callable[[Locale], Renderer]:
    """Render dates with the locale's pattern for `skeleton` (its closest match when it has none)."""

    def renderer(locale: Locale) -> Renderer:
        skeletons = locale.datetime_skeletons
        best = skeleton if skeleton in skeletons else match_skeleton(skeleton, skeletons)
        if best is None:
            return lambda day: None
        return date_pattern(skeletons[best], locale)

    return renderer


def _month_days(years: Years) -> list[tuple[str, dt.date]]:
    first = dt.date(_LEAP_YEAR, 1, 1)
    days = [first + dt.timedelta(days=i) for i in range(366)]
    return [(month_day_key(day), day) for day in days]


def _months(years: Years) -> list[tuple[str, dt.date]]:
    span = range(years.first, years.last + 1)
    return [(month_year_key(day), day) for day in (dt.date(y, m, 1) for y in span for m in range(1, 13))]


def _quarters(years: Years) -> list[tuple[str, dt.date]]:
    return [
        (f"{year:04d}-Q{quarter}", dt.date(year, 3 * quarter - 2, 1))
        for year in range(years.first, years.last + 1)
        for quarter in range(1, 5)
    ]


register(
    Family(
        "month_day",
        meanings=_month_days,
        renderer=skeleton_renderer("MMMMd"),
        iso=month_day_key,
        linked_by_text=True,
    )
)
register(
    Family(
        "month_year",
        meanings=_months,
        renderer=skeleton_renderer("yMMMM"),
        iso=month_year_key,
        linked_by_text=True,
    )
)
register(
    Family(
        "quarter_year",
        meanings=_quarters,
        renderer=skeleton_renderer("yQQQQ"),
        iso=lambda day: f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}",
        linked_by_text=True,
    )
)
