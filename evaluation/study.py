"""`plugmt-study <folder>`: one table from a multirun's matrices (the "does it plug in?" study).

Every job folder under the folder (one with a `.hydra/` folder, or a `matrix.json`) is one job; its
Hydra overrides (minus the seed) name its configuration, and a configuration's jobs are its seeds.
A result is a distribution over seeds, not a run: per configuration and cell kind (supervised,
zero-shot, plugged, foreign, and the pivot along each non-supervised cell) the mean exact match ±
its sd over the per-seed means, a 95% Student-t interval of that mean, the lowest per-seed mean and
the worst single cell, named. Each non-supervised cell is compared with its own pivot (exact ÷
pivot exact, pivot exact − exact), never with a pooled pivot mean. When the matrices carry BLEU
and chrF (real sentences), both per kind too, and each cell minus its own pivot in both with how
many cells sacrebleu's paired bootstrap (stored in the matrix) puts below, level with or above it.
When the cells carry exact match by group (phrasebook family, length band), each kind's share by
group too: where a configuration fails, over seeds; and when the matrices measured how far each
source's thoughts are from English's by group, those distances over seeds. A job without a usable
`matrix.json` is listed as failed and the rest is still summarised.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plugmt.errors import PlugmtError, one_line
from plugmt.evaluation.distribution import Value, spread
from plugmt.evaluation.groups import distances_by_group, finite, shares_by_group
from plugmt.evaluation.matrix import KINDS
from plugmt.evaluation.metrics import BOOTSTRAP_VERDICTS, GAP_VERDICTS, bootstrap_verdict

IGNORED = ("seed=", "experiment=", "hydra.", "store=")
NON_SUPERVISED = KINDS[1:]
SENTENCE_METRICS = ("bleu", "chrf")  # the matrices of real sentences carry them beside exact match
LONGEST_NAME = 48  # a configuration named by more characters is labelled c1, c2, ... in tables and plots


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
            or not finite(cell.get("exact"))
        ):
            raise ValueError(f"matrix.json cell {i} lacks a kind or a numeric exact match")
        pivot = cell.get("pivot")
        if pivot is not None and not (isinstance(pivot, dict) and finite(pivot.get("exact"))):
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


def _verdict(cell: dict[str, Any], pivot: dict[str, Any], metric: str) -> str:
    """How sacrebleu's paired bootstrap (in the matrix) places a cell against its pivot in `metric`."""
    p = ((pivot.get("paired_bootstrap") or {}).get(metric) or {}).get("p")
    return bootstrap_verdict(cell.get(metric), pivot.get(metric), p if finite(p) else None)


def summarise_configuration(name: str, jobs: Sequence[Job], failed: int = 0) -> dict[str, Any]:
    """One configuration's row: every kind's exact match (and BLEU and chrF when the matrices have
    them), the pivots, each cell against its own pivot, retrieval."""
    # table ("exact", "chrf", "exact/pivot", "chrf:cell-pivot", ...) -> kind -> one list per seed
    tables: dict[str, dict[str, list[list[Value]]]] = defaultdict(lambda: defaultdict(list))
    undefined: dict[str, int] = defaultdict(int)
    verdicts: Counter[tuple[str, str, str]] = Counter()  # (kind, metric, verdict) -> cells
    gap_verdicts: Counter[tuple[str, str]] = Counter()  # (kind, gap verdict) -> cells over the seeds
    retrieval: list[list[Value]] = []
    by_group: dict[tuple[str, str], list[list[Value]]] = defaultdict(list)  # (kind, group) -> per seed
    distances: dict[str, list[list[Value]]] = defaultdict(list)  # group -> per seed, every source
    for job in jobs:
        matrix, seed = job.matrix or {}, job.seed
        here: dict[str, dict[str, list[Value]]] = defaultdict(lambda: defaultdict(list))
        for cell in matrix.get("cells", []):
            kind, route = cell["kind"], f"{cell.get('src', '?')}→{cell.get('tgt', '?')}"
            for metric in ("exact", *SENTENCE_METRICS):
                if finite(cell.get(metric)):
                    here[metric][kind].append((float(cell[metric]), route, seed))
            pivot = cell.get("pivot")
            if kind == "supervised" or not pivot:
                continue
            path = pivot.get("path")
            pivot_route = "→".join(path) if isinstance(path, list) else f"pivot of {route}"
            for metric in ("exact", *SENTENCE_METRICS):
                if finite(pivot.get(metric)):
                    here[metric]["pivot"].append((float(pivot[metric]), pivot_route, seed))
            # Against its own pivot, cell by cell: a pooled pivot mean would hide a weak cell
            # behind a strong pivot elsewhere.
            here["pivot-exact"][kind].append((float(pivot["exact"]) - float(cell["exact"]), route, seed))
            gap_verdicts[kind, (pivot.get("exact_gap") or {}).get("verdict", "untested")] += 1
            if pivot["exact"] > 0:
                here["exact/pivot"][kind].append((float(cell["exact"]) / float(pivot["exact"]), route, seed))
            else:
                undefined[kind] += 1
            for metric in SENTENCE_METRICS:
                if finite(cell.get(metric)) and finite(pivot.get(metric)):
                    difference = float(cell[metric]) - float(pivot[metric])
                    here[f"{metric}:cell-pivot"][kind].append((difference, route, seed))
                    verdicts[kind, metric, _verdict(cell, pivot, metric)] += 1
        for table, by_kind in here.items():
            for kind, values in by_kind.items():
                tables[table][kind].append(values)
        for key, values in shares_by_group(matrix.get("cells", []), seed).items():
            by_group[key].append(values)
        for group, values in distances_by_group(matrix, seed).items():
            distances[group].append(values)
        diagnostics = matrix.get("thought_diagnostics") or []
        seed_retrieval = [
            (float(d["retrieval"]), f"{d.get('src', '?')}→{d.get('tgt', '?')}", seed)
            for d in diagnostics
            if isinstance(d, dict) and finite(d.get("retrieval"))
        ]
        if seed_retrieval:
            retrieval.append(seed_retrieval)

    def by_kind(table: str) -> dict[str, Any]:
        return {kind: spread(tables[table][kind]) for kind in (*KINDS, "pivot") if tables[table].get(kind)}

    row: dict[str, Any] = {
        "configuration": name,
        "seeds": len(jobs),
        "seed_values": [job.seed for job in jobs],
        "jobs": [job.name for job in jobs],
        "failed": failed,
        "exact": by_kind("exact"),
        "own_pivot": {},
    }
    for metric in SENTENCE_METRICS:  # when the matrices have them (chrF: the study plot's 2nd panel)
        if tables[metric]:
            row[metric] = by_kind(metric)
    for kind in NON_SUPERVISED:
        if tables["pivot-exact"].get(kind):
            ratios = tables["exact/pivot"].get(kind)
            row["own_pivot"][kind] = {
                "exact/pivot": spread(ratios) if ratios else None,
                "pivot-exact": spread(tables["pivot-exact"][kind]),
                "undefined_ratios": undefined[kind],  # cells whose pivot had exact match 0
                # "untested": cells of matrices written before gaps were measured
                "gap_verdicts": {v: gap_verdicts[kind, v] for v in (*GAP_VERDICTS, "untested")},
            }
            for metric in SENTENCE_METRICS:  # cell − pivot; how many cells the paired bootstrap puts below it
                if tables[f"{metric}:cell-pivot"].get(kind):
                    row["own_pivot"][kind][f"{metric}:cell-pivot"] = {
                        **spread(tables[f"{metric}:cell-pivot"][kind]),
                        "verdicts": {v: verdicts[kind, metric, v] for v in BOOTSTRAP_VERDICTS},
                    }
    if retrieval:
        row["retrieval"] = spread(retrieval)
    if by_group:
        nested: dict[str, dict[str, Any]] = defaultdict(dict)
        known = [key for key in by_group if key[0] in KINDS]
        for kind, group in sorted(known, key=lambda key: (KINDS.index(key[0]), key[1])):
            nested[kind][group] = spread(by_group[kind, group])
        row["by_group"] = dict(nested)
    if distances:  # the mean over sources per seed; max_cell: the farthest source of any seed
        row["thought_distances"] = {group: spread(distances[group]) for group in sorted(distances)}
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
    # A recipe's whole command is too long for a table cell or a plot's axis: c1, c2, ... then.
    long = any(len(row["configuration"]) > LONGEST_NAME for row in rows)
    for i, row in enumerate(rows, 1):
        row["label"] = f"c{i}" if long else row["configuration"]
    return {
        "folder": str(folder),
        "jobs": len(jobs),
        "configurations": rows,
        "failed": [{"job": job.name, "overrides": job.overrides, "problem": job.problem} for job in failed],
    }
