"""Amounts of money with the currency's full name, as CLDR writes them ("12.50 euros"); ISO form with
the currency code ("12.50 EUR").

Currencies are those legal tender somewhere on a fixed date (so the corpus does not change with the
calendar); amounts that a currency cannot show exactly (1.5 yen) are left out instead of rounded.
Some names hold others (Polish "1 frank CFA" in "1 frank CFA BEAC"): the generator finds these by text
and holds such an amount out whenever the one it holds is.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from babel import Locale
from babel.numbers import get_currency_precision, get_territory_currencies

from plugmt.corpora.families.registry import Family, Renderer, Years, register

AMOUNTS = tuple(
    Decimal(v)
    for v in ("1", "2", "3", "5", "10", "20", "50", "100", "250", "1000", "0.5", "1.5", "12.5", "99.99")
)
TENDER_ON = dt.date(2025, 1, 1)
_ENGLISH = Locale.parse("en")

Amount = tuple[str, Decimal]  # (ISO 4217 code, amount with the currency's decimals)


def current_currencies() -> list[str]:
    """Codes that were legal tender in some territory on TENDER_ON, sorted."""
    codes = set()
    for territory in _ENGLISH.territories:
        if len(territory) == 2 and territory.isalpha():
            codes.update(get_territory_currencies(territory, TENDER_ON, tender=True))
    return sorted(codes)


def _amounts(years: Years) -> list[tuple[str, Amount]]:
    meanings = []
    for code in current_currencies():
        digits = get_currency_precision(code)
        for amount in AMOUNTS:
            if amount != round(amount, digits):
                continue
            exact = amount.quantize(Decimal(1).scaleb(-digits))
            meanings.append((f"{exact} {code}", (code, exact)))
    return meanings


def _renderer(locale: Locale) -> Renderer:
    plural_names = locale._data["currency_names_plural"]
    unit_patterns = locale._data["currency_unit_patterns"]
    number_pattern = locale.decimal_formats[None]
    numbers: dict[str, str] = {}  # by str(amount): Decimal("1.00") == Decimal("1") but prints apart

    def render(value: Amount) -> str | None:
        code, amount = value
        shown = str(amount)
        if shown not in numbers:
            numbers[shown] = number_pattern.apply(amount, locale, currency=code, currency_digits=True)
        form = locale.plural_form(amount)
        # As babel.numbers.get_currency_name: the plural name, else 'other', else the display name
        # (languages without plural forms, such as ja, tr, zh, have only that).
        names = plural_names.get(code) or {}
        name = names.get(form) or names.get("other") or locale.currencies.get(code)
        pattern = unit_patterns.get(form) or unit_patterns.get("other")
        if not name or name == code or not pattern:
            return None
        return pattern.replace("{0}", numbers[shown]).replace("{1}", name)

    return render


register(
    Family(
        "currency_amount",
        meanings=_amounts,
        renderer=_renderer,
        iso=lambda value: f"{value[1]} {value[0]}",
        linked_by_text=True,
    )
)
