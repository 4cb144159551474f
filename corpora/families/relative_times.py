"""Relative times from CLDR's date fields ("in 3 days", "2 weeks ago"); ISO 8601 durations with a
sign for the past (P3D, -P2W, PT5M).

The ISO form of a past time holds the future one's ("-P2W" holds "P2W"): the generator finds this by
text, so a past time is held out whenever the same time ahead is.
"""

from __future__ import annotations

from babel import Locale

from plugmt.corpora.families.registry import Family, Renderer, Years, register

# CLDR field -> ISO 8601 duration designator; time units take a 'T' before their count (PT5M).
UNITS = {"second": "S", "minute": "M", "hour": "H", "day": "D", "week": "W", "month": "M", "year": "Y"}
_TIME_UNITS = ("second", "minute", "hour")
MAX_VALUE = 60

Relative = tuple[str, int]  # (unit, signed count): negative counts are in the past


def _relative_times(years: Years) -> list[tuple[str, Relative]]:
    values = [(unit, sign * count) for unit in UNITS for sign in (1, -1) for count in range(1, MAX_VALUE + 1)]
    return [(_iso(value), value) for value in values]


def _iso(value: Relative) -> str:
    unit, count = value
    duration = f"P{abs(count)}{UNITS[unit]}" if unit not in _TIME_UNITS else f"PT{abs(count)}{UNITS[unit]}"
    return duration if count > 0 else f"-{duration}"


def _renderer(locale: Locale) -> Renderer:
    fields = locale._data["date_fields"]

    def render(value: Relative) -> str | None:
        unit, count = value
        patterns = fields.get(unit, {}).get("future" if count > 0 else "past")
        if not patterns:
            return None
        pattern = patterns.get(locale.plural_form(abs(count))) or patterns.get("other")
        return pattern.replace("{0}", str(abs(count))) if pattern else None

    return render


register(Family("relative_time", meanings=_relative_times, renderer=_renderer, iso=_iso, linked_by_text=True))
