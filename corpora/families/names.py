"""Names of countries, languages, scripts and currencies from CLDR display names; ISO codes as the
canonical form (DE, de, Latn, EUR).

Train-only: a quarter to a half of these names are spelt as in English, so they teach vocabulary rather
than translation and are never held out for evaluation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from babel import Locale

from plugmt.corpora.families.registry import Family, Renderer, Years, register

_ENGLISH = Locale.parse("en")
# Territory codes that are not countries: unknown region, EU, eurozone, UN, outlying Oceania, pseudo.
_NOT_COUNTRIES = {"ZZ", "EU", "EZ", "UN", "QO", "XA", "XB"}


def _names_family(
    name: str, names_of: Callable[[Locale], Mapping[str, str]], code_pattern: str, skip=frozenset()
) -> Family:
    pattern = re.compile(code_pattern)

    def meanings(years: Years) -> list[tuple[str, str]]:
        codes = sorted(c for c in names_of(_ENGLISH) if pattern.fullmatch(c) and c not in skip)
        return [(code, code) for code in codes]

    def renderer(locale: Locale) -> Renderer:
        names = names_of(locale)

        def render(code: str) -> str | None:
            text = names.get(code)
            return text if text and text != code else None

        return render

    return Family(name, meanings=meanings, renderer=renderer, iso=lambda code: code, train_only=True)


register(_names_family("country_name", lambda loc: loc.territories, r"[A-Z]{2}", _NOT_COUNTRIES))
register(_names_family("language_name", lambda loc: loc.languages, r"[a-z]{2,3}"))
register(_names_family("script_name", lambda loc: loc.scripts, r"[A-Z][a-z]{3}"))
register(_names_family("currency_name", lambda loc: loc.currencies, r"[A-Z]{3}"))
