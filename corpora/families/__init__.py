"""Phrasebook families, one module each; importing this package registers them all.

Imported in the order `data.families` error messages list them (dates first), not alphabetically.
"""

from plugmt.corpora.families import (  # noqa: F401, I001  (imported to register, in this order)
    dates,
    calendar_parts,
    date_ranges,
    relative_times,
    quantities,
    currency_amounts,
    cardinals,
    names,
)
from plugmt.corpora.families.registry import FAMILIES, Family, Years, register

__all__ = ["FAMILIES", "Family", "Years", "register"]
