"""`plugmt-study <folder>`: one table from a multirun's matrices (the "does it plug in?" study).

Every `matrix.json` under the folder is one job; its Hydra overrides (minus the seed) name its
configuration, and seeds of one configuration are averaged. Per configuration: mean exact match of
supervised, zero-shot and plugged cells, of the pivot along each non-supervised cell, the ratios
that decide the claim, and the thought-retrieval diagnostic.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from plugmt.errors import PlugmtError, exit_with_error

IGNORED = ("seed=", "experiment=", "hydra.", "store=")


def configuration(job: Path) -> str:
    """The job's overrides that define a configuration (the seed is a repeat, not a setting)."""
    overrides = job / ".hydra" / "overrides.yaml"
    if not overrides.is_file():
        return job.name
    lines = [line.strip()[2:] for line in overrides.read_text().splitlines() if line.strip().startswith("- ")]
    kept = [o for o in lines if not o.startswith(IGNORED)]
    return " ".join(kept) or "defaults"


def job_scores(matrix: Mapping[str, Any]) -> dict[str, float]:
    """Mean exact match per cell kind, pivot over non-supervised cells, and retrieval."""
    by_kind: dict[str, list[float]] = defaultdict(list)
    pivots = []
    for cell in matrix["cells"]:
        by_kind[cell["kind"]].append(cell["exact"])
        if cell["kind"] != "supervised" and cell.get("pivot"):
            pivots.append(cell["pivot"]["exact"])
    scores = {kind: statistics.mean(values) for kind, values in by_kind.items()}
    if pivots:
        scores["pivot"] = statistics.mean(pivots)
    retrieval = [d["retrieval"] for d in matrix.get("thought_diagnostics", [])]
    if retrieval:
        scores["retrieval"] = statistics.mean(retrieval)
    return scores


def summarise(folder: Path) -> list[dict[str, Any]]:
    matrices = sorted(folder.rglob("matrix.json"))
    if not matrices:
        raise PlugmtError(
            f"no matrix.json under {folder}; run the study first (see conf/experiment/study.yaml)"
        )
    grouped: dict[str, list[dict[str, float]]] = defaultdict(list)
    for path in matrices:
        grouped[configuration(path.parent)].append(job_scores(json.loads(path.read_text())))
    rows = []
    for name, jobs in sorted(grouped.items()):
        row: dict[str, Any] = {"configuration": name, "seeds": len(jobs)}
        for key in ("supervised", "zero-shot", "plugged", "pivot", "retrieval"):
            values = [job[key] for job in jobs if key in job]
            if values:
                row[key] = statistics.mean(values)
                row[f"{key}_sd"] = statistics.stdev(values) if len(values) > 1 else 0.0
        for part in ("zero-shot", "plugged"):
            if part in row and row.get("supervised"):
                row[f"{part}/supervised"] = row[part] / row["supervised"]
            if part in row and row.get("pivot"):
                row[f"{part}/pivot"] = row[part] / row["pivot"]
        rows.append(row)
    return rows


def markdown(rows: Sequence[Mapping[str, Any]]) -> str:
    columns = ["supervised", "zero-shot", "plugged", "pivot", "retrieval"]
    ratios = ["zero-shot/supervised", "zero-shot/pivot", "plugged/supervised", "plugged/pivot"]
    lines = [
        "| configuration | seeds | " + " | ".join(columns + ratios) + " |",
        "|---|---:|" + "---:|" * (len(columns) + len(ratios)),
    ]
    for row in rows:
        cells = []
        for key in columns:
            if key not in row:
                cells.append("—")
            elif row["seeds"] > 1:
                cells.append(f"{row[key]:.3f} ± {row[key + '_sd']:.3f}")
            else:
                cells.append(f"{row[key]:.3f}")
        cells += [f"{row[key]:.2f}" if key in row else "—" for key in ratios]
        lines.append(f"| {row['configuration']} | {row['seeds']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="plugmt-study", description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="a multirun folder (multirun/<date>/<time>)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON instead")
    args = parser.parse_args(argv)
    try:
        rows = summarise(Path(args.folder))
    except PlugmtError as error:
        exit_with_error(error)
    print(json.dumps(rows, indent=1) if args.json else markdown(rows), end="")
