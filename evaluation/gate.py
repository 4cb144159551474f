"""The quality gate: does one run's matrix hold the claim the default recipe makes?

`python -m plugmt.evaluation.gate <matrix.json>` exits 1 and names every failing cell when a
supervised cell is below 0.99 exact match, a zero-shot or plugged cell below 0.95, or a zero-shot or
plugged cell more than 0.02 below its own pivot (the claim's targets; `--supervised`, `--unseen` and
`--pivot-gap` set other limits). A gap's line adds what its paired 95% interval says: beyond the limit,
or too few items to tell. CI runs it after the default `plugmt-run`: a regression guard on
quality, not on time.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plugmt.errors import PlugmtError, exit_with_error
from plugmt.evaluation.metrics import PIVOT_GAP, gap_verdict


@dataclass(frozen=True)
class Thresholds:
    supervised: float = 0.99
    unseen: float = 0.95  # zero-shot and plugged cells
    pivot_gap: float = PIVOT_GAP  # how far below its own pivot an unseen cell may be


def _gap_evidence(pivot: Mapping[str, Any], limit: float) -> str:
    """What the gap's paired interval says about the limit (nothing for a matrix without one)."""
    gap = pivot.get("exact_gap")
    if not gap:
        return ""
    low, high = gap["ci"]
    words = {"beyond": "beyond the limit", "undecided": "too few items to tell", "within": "within the limit"}
    return f"; gap 95% CI [{low:.3f}, {high:.3f}]: {words[gap_verdict(gap['ci'], limit)]}"


def failures(matrix: Mapping[str, Any], limits: Thresholds = Thresholds()) -> list[str]:
    """One line per cell that breaks a threshold (empty: the matrix passes)."""
    cells: Sequence[Mapping[str, Any]] = matrix.get("cells") or []
    if not cells:
        return ["the matrix has no cells"]
    problems = []
    for cell in cells:
        name = f"{cell['src']}→{cell['tgt']} {cell['kind']} exact {cell['exact']:.3f}"
        if cell["kind"] == "supervised":
            if cell["exact"] < limits.supervised:
                problems.append(f"{name} < {limits.supervised}")
            continue
        if cell["kind"] not in ("zero-shot", "plugged"):
            continue
        if cell["exact"] < limits.unseen:
            problems.append(f"{name} < {limits.unseen}")
        pivot = cell.get("pivot")
        if pivot and pivot["exact"] - cell["exact"] > limits.pivot_gap + 1e-9:
            problems.append(
                f"{name} is {pivot['exact'] - cell['exact']:.3f} below its pivot ({pivot['exact']:.3f})"
                + _gap_evidence(pivot, limits.pivot_gap)
            )
    if not any(c["kind"] in ("zero-shot", "plugged") for c in cells):
        problems.append("the matrix has no zero-shot or plugged cell: nothing tests the claim")
    return problems


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m plugmt.evaluation.gate", description=__doc__.splitlines()[0]
    )
    parser.add_argument("matrix", help="a matrix.json written by plugmt-run or plugmt-eval")
    default = Thresholds()
    parser.add_argument(
        "--supervised", type=float, default=default.supervised, help="lowest supervised exact"
    )
    parser.add_argument("--unseen", type=float, default=default.unseen, help="lowest zero-shot/plugged exact")
    parser.add_argument(
        "--pivot-gap", type=float, default=default.pivot_gap, help="most an unseen cell may trail its pivot"
    )
    args = parser.parse_args(argv)
    limits = Thresholds(args.supervised, args.unseen, args.pivot_gap)
    path = Path(args.matrix)
    try:
        try:
            matrix = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            raise PlugmtError(
                f"cannot read {path} as a matrix.json ({error}); run plugmt-run first"
            ) from None
    except PlugmtError as error:
        exit_with_error(error)
    problems = failures(matrix, limits)
    kinds = sorted({c["kind"] for c in matrix["cells"]})
    if problems:
        print(f"quality gate FAILED for {path} ({len(problems)} problems):", file=sys.stderr)
        for line in problems:
            print(f"  {line}", file=sys.stderr)
        sys.exit(1)
    print(f"quality gate passed: {len(matrix['cells'])} cells ({', '.join(kinds)}) in {path}")


if __name__ == "__main__":
    main()
