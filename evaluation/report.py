"""Results as files a person reads: the matrix as Markdown, JSON and a figure (evaluation.figures);
a seed study's Markdown is evaluation.study_report."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from plugmt.evaluation.figures import matrix_figure
from plugmt.evaluation.matrix import KINDS, Cell, Matrix
from plugmt.evaluation.metrics import (
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
    BOOTSTRAP_VERDICTS,
    GAP_VERDICTS,
    PIVOT_GAP,
    SIGNIFICANT,
    bootstrap_verdict,
)

_KIND_MARK = {
    "supervised": "S",
    "zero-shot": "Z",
    "plugged": "P",
    "foreign": "F",
    "plugged-source": "R",  # read by a student encoder
    "plugged-both": "B",  # a student encoder and a plug-in decoder
}


# A gap's verdict on PIVOT_GAP as the table marks it: ✓ within, ✗ beyond, ? undecided
_GAP_MARK = {"within": "✓", "beyond": "✗", "undecided": "?"}
_METRIC_NAMES = {"bleu": "BLEU", "chrf": "chrF"}  # a paired test's key, as a table names it


def _verdict_lines(cells: Sequence[Cell]) -> list[str]:
    """How many cells of each kind with a pivot their exact-match gap's interval shows within
    PIVOT_GAP of it, beyond it or leaves undecided; and, in BLEU and chrF, how many sacrebleu's paired
    bootstrap puts below, level with or above it (the verdict that matters on real sentences, where few
    outputs match exactly). Nothing for a matrix written before either was measured."""
    gaps: dict[str, Counter[str]] = {}
    paired: dict[str, dict[str, Counter[str]]] = {}
    for cell in cells:
        pivot = cell.pivot or {}
        if pivot.get("exact_gap"):
            gaps.setdefault(cell.kind, Counter())[pivot["exact_gap"]["verdict"]] += 1
        for metric, test in (pivot.get("paired_bootstrap") or {}).items():
            verdict = bootstrap_verdict(getattr(cell, metric), pivot.get(metric), test.get("p"))
            paired.setdefault(cell.kind, {}).setdefault(metric, Counter())[verdict] += 1
    lines = []
    if gaps:
        parts = [
            f"{kind}: " + ", ".join(f"{counts[verdict]} {verdict}" for verdict in GAP_VERDICTS)
            for kind, counts in gaps.items()
        ]
        lines += [
            "",
            f"Gap to the pivot (pivot exact − exact, paired 95% interval over the same items): ✓ the whole"
            f" interval within {PIVOT_GAP} of the pivot, ✗ the whole interval beyond it, ? undecided at this"
            f" many items. {'; '.join(parts)}.",
        ]
    if paired:
        shown = [v for v in BOOTSTRAP_VERDICTS if v != "untested"]
        parts = [
            f"{kind}: "
            + ", ".join(
                f"{_METRIC_NAMES[metric]} " + " / ".join(str(counts[v]) for v in shown)
                for metric, counts in by_metric.items()
            )
            for kind, by_metric in paired.items()
        ]
        lines += [
            "",
            f"Against the pivot by sacrebleu's paired bootstrap (p < {SIGNIFICANT}), cells "
            f"{' / '.join(shown)} it: {'; '.join(parts)}.",
        ]
    return lines


def _with_ci(value: float, ci: list[float] | None, digits: int = 3) -> str:
    """A value with its 95% interval, as the table shows it (exact match: 3 digits; chrF, BLEU: 1)."""
    return f"{value:.{digits}f} [{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]" if ci else f"{value:.{digits}f}"


def _pivot(cell: Cell, key: str) -> str:
    if not cell.pivot:
        return "—"
    if key == "exact":
        return _with_ci(cell.pivot["exact"], cell.pivot.get("exact_ci"))
    if key == "exact_ratio":
        ratio = cell.pivot.get("exact_ratio")
        return "—" if ratio is None else f"{ratio:.2f}"
    if key == "exact_gap":
        gap = cell.pivot.get("exact_gap")
        return "—" if not gap else f"{_with_ci(gap['gap'], gap['ci'])} {_GAP_MARK[gap['verdict']]}"
    return f"{cell.pivot[key]:.1f}"


def _versus_pivot(cell: Cell) -> str:
    """The paired bootstrap, compact: the cell's score minus its pivot's, p (* below 0.05)."""
    paired: dict[str, Any] = (cell.pivot or {}).get("paired_bootstrap") or {}
    if not paired:
        return "—"
    parts = []
    for key, label in _METRIC_NAMES.items():
        if key in paired:
            diff, p = getattr(cell, key) - cell.pivot[key], paired[key]["p"]
            parts.append(f"{label} {diff:+.1f} p={p:.3f}{'*' if p < 0.05 else ''}")
    return " · ".join(parts)


def _groups_markdown(cells: Sequence[Cell]) -> list[str]:
    """Exact match by group (phrasebook family, length band) and cell kind, pooled over the kind's
    cells: where a matrix fails. Nothing when no cell was split by group."""
    pooled: dict[str, dict[str, list[int]]] = {}
    per_cell: dict[str, int] = {}
    for cell in cells:
        for group, (hits, items) in (cell.by_group or {}).items():
            tally = pooled.setdefault(group, {}).setdefault(cell.kind, [0, 0])
            tally[0] += hits
            tally[1] += items
            per_cell[group] = items
    if not pooled:
        return []
    kinds = [k for k in KINDS if any(c.kind == k and c.by_group for c in cells)]
    lines = [
        "",
        "Exact match by group (a phrasebook family, or a length band of a file corpus), pooled over"
        " the cells of each kind; n: a cell's items of the group:",
        "",
        "| group | n | " + " | ".join(kinds) + " |",
        "|---|---:|" + "---:|" * len(kinds),
    ]
    for group, by_kind in sorted(pooled.items()):
        shares = [f"{by_kind[k][0] / by_kind[k][1]:.3f}" if k in by_kind else "·" for k in kinds]
        lines.append(f"| {group} | {per_cell[group]} | " + " | ".join(shares) + " |")
    return lines


def _distances_markdown(distances: Sequence[dict[str, Any]]) -> list[str]:
    """diagnostics.group_distances as a table: a row per group, a column per source language."""
    if not distances:
        return []
    langs = list(dict.fromkeys(d["src"] for d in distances))
    table = {(d["group"], d["src"]): d["distance"] for d in distances}
    lines = [
        "",
        f"Distance of each source's thoughts from {distances[0]['to']}'s, by group (the alignment term of"
        " training on the whole thought: 0 = the same thoughts, about 2 = unrelated; a decoder trained"
        " on one language's thoughts misreads another's where it is large):",
        "",
        "| group | " + " | ".join(langs) + " |",
        "|---|" + "---:|" * len(langs),
    ]
    for group in sorted({d["group"] for d in distances}):
        row = [f"{table[group, lang]:.3f}" if (group, lang) in table else "·" for lang in langs]
        lines.append(f"| {group} | " + " | ".join(row) + " |")
    return lines


def markdown(matrix: Matrix) -> str:
    lines = [
        f"Encoder `{matrix.encoder}`, {matrix.split} split, n={matrix.cells[0].n if matrix.cells else 0}"
        f" items per cell{', ' + matrix.search_text() if matrix.search else ''}.",
        "",
        "Exact match with its 95% Wilson interval, chrF and BLEU with sacrebleu's bootstrap 95% interval"
        " over the items; exact ÷ pivot is the cell's exact match over its own"
        " pivot's; gap: pivot exact − exact with its paired 95% interval (Newcombe's method for paired"
        " proportions); vs pivot: the cell's score minus its pivot's, with the p-value of sacrebleu's paired"
        f" bootstrap ({BOOTSTRAP_RESAMPLES} resamples, seed {BOOTSTRAP_SEED}; * p < 0.05; bootstrap"
        " means and 95% intervals in matrix.json).",
        "",
        "| src→tgt | kind | n | exact [95% CI] | chrF [95% CI] | BLEU [95% CI] | pivot path "
        "| pivot exact [95% CI] | exact ÷ pivot | gap [95% CI] | pivot chrF | pivot BLEU "
        "| vs pivot (paired bootstrap) |",
        "|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for c in matrix.cells:
        path = "→".join(c.pivot["path"]) if c.pivot else "—"
        lines.append(
            f"| {c.src}→{c.tgt} | {c.kind} | {c.n} | {_with_ci(c.exact, c.exact_ci)} | "
            f"{_with_ci(c.chrf, c.chrf_ci, 1)} | {_with_ci(c.bleu, c.bleu_ci, 1)} | {path} | "
            f"{_pivot(c, 'exact')} | {_pivot(c, 'exact_ratio')} | {_pivot(c, 'exact_gap')} | "
            f"{_pivot(c, 'chrf')} | {_pivot(c, 'bleu')} | {_versus_pivot(c)} |"
        )
    sources = sorted({c.src for c in matrix.cells})
    targets = sorted({c.tgt for c in matrix.cells})
    grid = {(c.src, c.tgt): c for c in matrix.cells}
    lines += [
        "",
        "Exact match (S supervised, Z zero-shot, P plugged, F foreign; a student encoder's row: "
        "R through a joint decoder, B through a plug-in one):",
        "",
    ]
    lines.append("| src \\ tgt | " + " | ".join(targets) + " |")
    lines.append("|---|" + "---:|" * len(targets))
    for s in sources:
        row = [
            f"{grid[s, t].exact:.2f} {_KIND_MARK[grid[s, t].kind]}" if (s, t) in grid else "·"
            for t in targets
        ]
        lines.append(f"| {s} | " + " | ".join(row) + " |")
    lines += _verdict_lines(matrix.cells)
    lines += _groups_markdown(matrix.cells)
    lines += _distances_markdown(matrix.distances)
    if matrix.slot_overlap:
        lines += [
            "",
            "Slot overlap (how much the encoder's slots read the same source positions: 0 each slot its",
            "own, 1 in pairs, K − 1 all on one): "
            + ", ".join(f"{lang} {value:.2f}" for lang, value in sorted(matrix.slot_overlap.items())),
        ]
    if matrix.diagnostics:
        lines += [
            "",
            "Thoughts across languages (retrieval: how often an item's nearest thought in the other",
            "language is its translation; cosines of pooled thoughts, same vs different meaning):",
            "",
            "| src→tgt | retrieval | same cosine | different cosine |",
            "|---|---:|---:|---:|",
        ]
        lines += [
            f"| {d['src']}→{d['tgt']} | {d['retrieval']:.3f} | {d['same_cosine']:.3f} | "
            f"{d['different_cosine']:.3f} |"
            for d in matrix.diagnostics
        ]
    if matrix.unconverged():
        lines += [
            "",
            f"**Warning:** stopped by a budget before validation converged: {', '.join(matrix.unconverged())}"
            " (raise train.max_seconds or train.epochs; these numbers may not hold on another seed).",
        ]
    if matrix.cells:
        lines += [
            "",
            "BLEU: " + matrix.signatures.get("bleu", ""),
            *(
                f"BLEU ({key.removeprefix('bleu:')} tokens): {value}"
                for key, value in sorted(matrix.signatures.items())
                if key.startswith("bleu:")
            ),
            "chrF: " + matrix.signatures.get("chrf", ""),
        ]
        lines += [
            f"{label} {words}: {matrix.signatures[f'{metric}_{test}']}"
            for test, words in (("paired_bootstrap", "paired bootstrap"), ("bootstrap", "bootstrap interval"))
            for metric, label in (("bleu", "BLEU"), ("chrf", "chrF"))
            if f"{metric}_{test}" in matrix.signatures
        ]
    return "\n".join(lines) + "\n"


def write_report(matrix: Matrix, out: Path) -> str:
    """matrix.json, matrix.md and matrix.png in `out`, and the lines scored in `out`/translations/ (for
    sacrebleu's paired test between two runs); returns the Markdown."""
    out.mkdir(parents=True, exist_ok=True)
    text = markdown(matrix)
    if matrix.translations:
        folder = out / "translations"
        folder.mkdir(exist_ok=True)
        for name, lines in matrix.translations.items():
            (folder / name).write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    (out / "matrix.json").write_text(json.dumps(matrix.to_json(), indent=2) + "\n")
    (out / "matrix.md").write_text(text)
    matrix_figure(matrix, out / "matrix.png")
    return text
