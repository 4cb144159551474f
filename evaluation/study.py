"""`plugmt-study <folder>`: one table from a multirun's matrices (the "does it plug in?" study).

Every job folder under the folder (one with a `.hydra/` folder, or a `matrix.json`) is one job; its
Hydra overrides (minus the seed) name its configuration, and a configuration's jobs are its seeds.
A result is a distribution over seeds, not a run: per configuration and cell kind (supervised,
zero-shot, plugged, foreign, and the pivot along each non-supervised cell) the mean exact match ±
its sd over the per-seed means, a 95% Student-t interval of that mean, the lowest per-seed mean and
the worst single cell, named. Each non-supervised cell is compared with its own pivot (exact ÷
pivot exact, pivot exact − exact), never with a pooled pivot mean; chrF per kind too when the
matrices carry it. A job without a usable `matrix.json` is listed as failed and the rest is still
summarised.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plugmt.errors import PlugmtError, one_line

IGNORED = ("seed=", "experiment=", "hydra.", "store=")
KINDS = ("supervised", "zero-shot", "plugged", "plugged-source", "plugged-both", "foreign")
NON_SUPERVISED = ("zero-shot", "plugged", "plugged-source", "plugged-both", "foreign")

# Two-sided 95% quantiles of Student's t for 1..30 degrees of freedom; beyond 30, the normal's 1.96.
_T95 = """12.706 4.303 3.182 2.776 2.571 2.447 2.365 2.306 2.262 2.228 2.201 2.179 2.160 2.145 2.131
2.120 2.110 2.101 2.093 2.086 2.080 2.074 2.069 2.064 2.060 2.056 2.052 2.048 2.045 2.042"""
T95 = {df: float(t) for df, t in enumerate(_T95.split(), start=1)}


def t95(df: int) -> float:
    """The t factor of a two-sided 95% interval with `df` degrees of freedom (df >= 1)."""
    if df < 1:
        raise ValueError(f"a t interval needs at least one degree of freedom, not {df}")
    return T95.get(df, 1.96)


@dataclass
class Job:
    """One job folder of the multirun: its overrides and matrix, or why it has none."""

    folder: Path
    name: str
    overrides: list[str]
    seed: str
    matrix: dict[str, Any] | None = None
    problem: str | None = None


def _overrides(job: Path) -> list[str]:
    path = job / ".hydra" / "overrides.yaml"
    if not path.is_file():
        return []
    text = path.read_text(encoding="utf-8", errors="replace")
    return [line.strip()[2:] for line in text.splitlines() if line.strip().startswith("- ")]


def configuration(job: Path) -> str:
    """The job's overrides that define a configuration (the seed is a repeat, not a setting)."""
    if not (job / ".hydra" / "overrides.yaml").is_file():
        return job.name
    kept = [o for o in _overrides(job) if not o.startswith(IGNORED)]
    return " ".join(kept) or "defaults"


def _seed(job: Path, overrides: Sequence[str]) -> str:
    """The job's seed: its `seed=` override, else the seed in its composed config, else its folder."""
    for override in overrides:
        if override.startswith("seed="):
            return override.removeprefix("seed=")
    config = job / ".hydra" / "config.yaml"
    if config.is_file():
        match = re.search(r"^seed: *(\S+)", config.read_text(errors="replace"), re.MULTILINE)
        if match:
            return match.group(1)
    return f"of job {job.name}"


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def read_matrix(path: Path) -> dict[str, Any]:
    """A job's matrix.json, checked for what the study reads; ValueError (one line) says what is wrong."""
    if not path.is_file():
        raise ValueError("no matrix.json (the job stopped before its eval stage wrote one)")
    try:
        matrix = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"matrix.json is unreadable ({one_line(error)})") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"matrix.json is not valid JSON ({error})") from None
    except RecursionError:
        raise ValueError("matrix.json is nested too deeply to be a matrix") from None
    cells = matrix.get("cells") if isinstance(matrix, dict) else None
    if not isinstance(cells, list) or not cells:
        raise ValueError("matrix.json has no cells")
    for i, cell in enumerate(cells):
        if (
            not isinstance(cell, dict)
            or not isinstance(cell.get("kind"), str)
            or not _number(cell.get("exact"))
        ):
            raise ValueError(f"matrix.json cell {i} lacks a kind or a numeric exact match")
        pivot = cell.get("pivot")
        if pivot is not None and not (isinstance(pivot, dict) and _number(pivot.get("exact"))):
            raise ValueError(f"matrix.json cell {i} has a pivot without a numeric exact match")
    diagnostics = matrix.get("thought_diagnostics")
    if diagnostics is not None and not isinstance(diagnostics, list):
        raise ValueError("matrix.json's thought_diagnostics is not a list")
    return matrix


def find_jobs(folder: Path) -> list[Job]:
    """Every job under `folder`: each folder with a `.hydra/`, and the folder of each other matrix.json."""
    if not folder.is_dir():
        raise PlugmtError(
            f"{folder} is not a folder; give plugmt-study a multirun folder (multirun/<date>/<time>)"
        )
    found = {p.parent for p in folder.rglob(".hydra") if p.is_dir()}
    matrices: dict[Path, Path] = {}
    for path in sorted(folder.rglob("matrix.json")):
        owner = next((a for a in path.parents if a in found), path.parent)
        found.add(owner)
        matrices.setdefault(owner, path)
    jobs = []
    for job in sorted(found):
        overrides = _overrides(job)
        name = str(job.relative_to(folder)) if job != folder else job.name
        entry = Job(job, name, overrides, _seed(job, overrides))
        try:
            entry.matrix = read_matrix(matrices.get(job, job / "matrix.json"))
        except ValueError as error:
            entry.problem = str(error)
        jobs.append(entry)
    return jobs


# --------------------------------------------------------------------------- statistics


Value = tuple[float, str, str]  # a cell's number, its route (fr→de, fr→en→de) and its seed


def spread(per_seed: Sequence[Sequence[Value]]) -> dict[str, Any]:
    """Values grouped by seed, each with the cell it came from, as a distribution.

    mean, sd and the 95% Student-t interval are over the per-seed means (one seed: no sd, no
    interval); min and max are over every single cell, named in `min_cell` / `max_cell`
    (e.g. `fr→de 0.91, seed 1`).
    """
    groups = [list(values) for values in per_seed if values]
    means = [statistics.fmean(value[0] for value in values) for values in groups]
    every = [item for values in groups for item in values]
    low = min(every, key=lambda item: item[0])
    high = max(every, key=lambda item: item[0])
    mean = statistics.fmean(means)
    sd = statistics.stdev(means) if len(means) > 1 else None
    ci = None
    if sd is not None:
        half = t95(len(means) - 1) * sd / math.sqrt(len(means))
        ci = [mean - half, mean + half]
    return {
        "seeds": len(means),
        "cells": len(every),
        "mean": mean,
        "sd": sd,
        "ci95": ci,
        "seed_means": means,
        "min_seed_mean": min(means),
        "max_seed_mean": max(means),
        "min": low[0],
        "min_cell": f"{low[1]} {low[0]:.2f}, seed {low[2]}",
        "max": high[0],
        "max_cell": f"{high[1]} {high[0]:.2f}, seed {high[2]}",
    }


def summarise_configuration(name: str, jobs: Sequence[Job], failed: int = 0) -> dict[str, Any]:
    """One configuration's row: every kind's exact match, the pivots, own-pivot ratios, retrieval."""
    exact: dict[str, list[list[Value]]] = defaultdict(list)
    chrf: dict[str, list[list[Value]]] = defaultdict(list)
    ratios: dict[str, list[list[Value]]] = defaultdict(list)
    gaps: dict[str, list[list[Value]]] = defaultdict(list)
    undefined: dict[str, int] = defaultdict(int)
    retrieval: list[list[Value]] = []
    for job in jobs:
        matrix, seed = job.matrix or {}, job.seed
        by_kind: dict[str, list[Value]] = defaultdict(list)
        chrf_by_kind: dict[str, list[Value]] = defaultdict(list)
        ratio: dict[str, list[Value]] = defaultdict(list)
        gap: dict[str, list[Value]] = defaultdict(list)
        for cell in matrix.get("cells", []):
            kind, route = cell["kind"], f"{cell.get('src', '?')}→{cell.get('tgt', '?')}"
            by_kind[kind].append((float(cell["exact"]), route, seed))
            if _number(cell.get("chrf")):
                chrf_by_kind[kind].append((float(cell["chrf"]), route, seed))
            pivot = cell.get("pivot")
            if kind == "supervised" or not pivot:
                continue
            path = pivot.get("path")
            pivot_route = "→".join(path) if isinstance(path, list) else f"pivot of {route}"
            by_kind["pivot"].append((float(pivot["exact"]), pivot_route, seed))
            if _number(pivot.get("chrf")):
                chrf_by_kind["pivot"].append((float(pivot["chrf"]), pivot_route, seed))
            # Against its own pivot, cell by cell: a pooled pivot mean would hide a weak cell
            # behind a strong pivot elsewhere.
            gap[kind].append((float(pivot["exact"]) - float(cell["exact"]), route, seed))
            if pivot["exact"] > 0:
                ratio[kind].append((float(cell["exact"]) / float(pivot["exact"]), route, seed))
            else:
                undefined[kind] += 1
        for kind, values in by_kind.items():
            exact[kind].append(values)
        for kind, values in chrf_by_kind.items():
            chrf[kind].append(values)
        for kind, values in ratio.items():
            ratios[kind].append(values)
        for kind, values in gap.items():
            gaps[kind].append(values)
        diagnostics = matrix.get("thought_diagnostics") or []
        seed_retrieval = [
            (float(d["retrieval"]), f"{d.get('src', '?')}→{d.get('tgt', '?')}", seed)
            for d in diagnostics
            if isinstance(d, dict) and _number(d.get("retrieval"))
        ]
        if seed_retrieval:
            retrieval.append(seed_retrieval)
    row: dict[str, Any] = {
        "configuration": name,
        "seeds": len(jobs),
        "seed_values": [job.seed for job in jobs],
        "jobs": [job.name for job in jobs],
        "failed": failed,
        "exact": {kind: spread(exact[kind]) for kind in (*KINDS, "pivot") if exact.get(kind)},
        "own_pivot": {},
    }
    if chrf:  # chrF when the matrices have it (the study plot's second panel)
        row["chrf"] = {kind: spread(chrf[kind]) for kind in (*KINDS, "pivot") if chrf.get(kind)}
    for kind in NON_SUPERVISED:
        if gaps.get(kind):
            row["own_pivot"][kind] = {
                "exact/pivot": spread(ratios[kind]) if ratios.get(kind) else None,
                "pivot-exact": spread(gaps[kind]),
                "undefined_ratios": undefined[kind],  # cells whose pivot had exact match 0
            }
    if retrieval:
        row["retrieval"] = spread(retrieval)
    return row


def summarise(folder: Path) -> dict[str, Any]:
    """The study of a multirun folder: a row per configuration, and the jobs that failed."""
    jobs = find_jobs(folder)
    if not jobs:
        raise PlugmtError(
            f"no matrix.json under {folder}; run the study first (see conf/experiment/study.yaml)"
        )
    good = [job for job in jobs if job.matrix is not None]
    failed = [job for job in jobs if job.matrix is None]
    if not good:
        shown = "; ".join(f"{job.name}: {job.problem}" for job in failed[:3])
        more = f"; and {len(failed) - 3} more" if len(failed) > 3 else ""
        raise PlugmtError(
            f"all {len(jobs)} jobs under {folder} failed, none left a usable matrix.json ({shown}{more}); "
            "see each job's plugmt.log, fix the cause and rerun them"
        )
    grouped: dict[str, list[Job]] = defaultdict(list)
    for job in good:
        grouped[configuration(job.folder)].append(job)
    failed_by_configuration: dict[str, int] = defaultdict(int)
    for job in failed:
        failed_by_configuration[configuration(job.folder)] += 1
    rows = [
        summarise_configuration(name, grouped[name], failed_by_configuration[name])
        for name in sorted(grouped)
    ]
    return {
        "folder": str(folder),
        "jobs": len(jobs),
        "configurations": rows,
        "failed": [{"job": job.name, "overrides": job.overrides, "problem": job.problem} for job in failed],
    }
