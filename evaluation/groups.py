"""What a study reads from one matrix by group (a phrasebook family, or a length band of a file
corpus): each kind's exact match within the group, and how far each source's thoughts are from the
reference language's in it (the matrix's `thought_distances`). No TensorFlow: a study runs no model."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from plugmt.evaluation.distribution import Value


def finite(value: Any) -> bool:
    """A real number, not a bool, NaN or infinity."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def shares_by_group(cells: Sequence[dict[str, Any]], seed: str) -> dict[tuple[str, str], list[Value]]:
    """Each cell's exact match within each group of its items (the matrix's `by_group`), by (kind,
    group); a malformed count is skipped."""
    shares: dict[tuple[str, str], list[Value]] = defaultdict(list)
    for cell in cells:
        counts = cell.get("by_group")
        if not isinstance(counts, dict):
            continue
        route = f"{cell.get('src', '?')}→{cell.get('tgt', '?')}"
        for group, tally in counts.items():
            if isinstance(tally, list) and len(tally) == 2 and all(finite(x) for x in tally) and tally[1] > 0:
                shares[cell["kind"], str(group)].append((tally[0] / tally[1], route, seed))
    return shares


def distances_by_group(matrix: dict[str, Any], seed: str) -> dict[str, list[Value]]:
    """Each source's thought distance from the reference language's, by group, as the matrix stored
    them (`thought_distances`, made by diagnostics.group_distances; named src→reference); a
    malformed row is skipped."""
    found: dict[str, list[Value]] = defaultdict(list)
    rows = matrix.get("thought_distances")
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, dict) and finite(row.get("distance")) and "group" in row:
            route = f"{row.get('src', '?')}→{row.get('to', '?')}"
            found[str(row["group"])].append((float(row["distance"]), route, seed))
    return found
