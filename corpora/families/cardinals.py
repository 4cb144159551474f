"""Cardinal numbers in words from num2words ("two thousand, one hundred"); ISO form: the digits.

Compositional: numbers are made of numbers ("twenty-one" holds "twenty" and "one"), so a held-out
cardinal is never a training string but may be a part of one; see `corpora/phrasebook.py`.
"""

from __future__ import annotations

from babel import Locale
from num2words import CONVERTER_CLASSES, num2words

from plugmt.corpora.families.registry import Family, Renderer, Years, register

LARGEST = 9999


def _numbers(years: Years) -> list[tuple[str, int]]:
    return [(str(n), n) for n in range(LARGEST + 1)]


def _unsupported(lang: str) -> str | None:
    return None if lang in CONVERTER_CLASSES else f"num2words has no {lang!r}"


def _renderer(locale: Locale) -> Renderer:
    lang = str(locale)

    def render(number: int) -> str:
        text = num2words(number, lang=lang)
        if lang == "ar":  # num2words writes «و» apart from the word it joins: "ألفان و مائة"
            text = " ".join(text.split()).replace(" و ", " و")
        return text

    return render


register(
    Family(
        "cardinal",
        meanings=_numbers,
        renderer=_renderer,
        iso=str,
        unsupported=_unsupported,
        compositional=True,
    )
)
