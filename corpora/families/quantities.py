"""Quantities with long unit names from CLDR ("5 kilometres", "2,5 litres"); ISO form with the unit's
symbol ("5 km", "2.5 l").

A unit a language has no long name for is dropped for every language (CLDR falls back to raw unit ids
there), as are the `-person` duplicates of the duration units.

Compound units often hold simpler ones ("5 meters" in "5 meters per second", "5 metri" in "5 metri
cubi", "100 kilometers" in "5 liters per 100 kilometers"), differently in every language: the generator
finds these by text and holds a quantity out whenever one it holds is.
"""

from __future__ import annotations

from decimal import Decimal

from babel import Locale
from babel.numbers import format_decimal

from plugmt.corpora.families.registry import Family, Renderer, Years, register

VALUES = tuple(
    Decimal(v)
    for v in (
        "1", "2", "3", "4", "5", "7", "8", "10", "12", "15", "20", "25", "30", "40", "50", "60",
        "75", "100", "200", "250", "500", "0.25", "0.5", "1.5", "2.5", "3.5",
    )
)  # fmt: skip
_ENGLISH = Locale.parse("en")

Quantity = tuple[str, Decimal]  # (CLDR unit id, value)


def _units() -> list[str]:
    patterns = _ENGLISH._data["unit_patterns"]
    return [
        unit
        for unit in patterns
        if not unit.endswith("-person") and "long" in patterns[unit] and "short" in patterns[unit]
    ]


def _quantities(years: Years) -> list[tuple[str, Quantity]]:
    return [(f"{unit}:{value}", (unit, value)) for unit in _units() for value in VALUES]


def _iso(value: Quantity) -> str:
    unit, number = value
    pattern = _ENGLISH._data["unit_patterns"][unit]["short"]["other"]
    return pattern.replace("{0}", str(number))


def _renderer(locale: Locale) -> Renderer:
    patterns = locale._data["unit_patterns"]
    numbers = {value: format_decimal(value, locale=locale) for value in VALUES}
    plurals = {value: locale.plural_form(value) for value in VALUES}

    def render(value: Quantity) -> str | None:
        unit, number = value
        long = patterns.get(unit, {}).get("long")
        if not long:
            return None
        pattern = long.get(plurals[number]) or long.get("other")
        return pattern.replace("{0}", numbers[number]) if pattern and "{0}" in pattern else None

    return render


register(Family("quantity", meanings=_quantities, renderer=_renderer, iso=_iso, linked_by_text=True))
