"""`plugmt-study`'s Markdown: a multirun's summary (evaluation.study) as the tables a person reads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from plugmt.evaluation.metrics import GAP_VERDICTS, PIVOT_GAP


def _mean_sd(block: Mapping[str, Any], digits: int = 3) -> str:
    if block["sd"] is None:
        return f"{block['mean']:.{digits}f}"
    return f"{block['mean']:.{digits}f} ± {block['sd']:.{digits}f}"


def _ci(block: Mapping[str, Any], digits: int = 3) -> str:
    if block["ci95"] is None:
        return "— (1 seed)"
    return f"[{block['ci95'][0]:.{digits}f}, {block['ci95'][1]:.{digits}f}]"


def _line(*cells: Any) -> str:
    """One Markdown table row."""
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def _table(intro: str, *columns: str) -> list[str]:
    """A blank line, the table's introduction, a blank line and its header; a column named with a
    trailing ":" is right-aligned."""
    rule = "|" + "|".join("---:" if c.endswith(":") else "---" for c in columns) + "|"
    return ["", intro, "", _line(*(c.removesuffix(":") for c in columns)), rule]


def _scores_markdown(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """BLEU and chrF by kind, and each non-supervised cell against its own pivot in both (real
    sentences, where exact match says little)."""
    lines = _table(
        "BLEU and chrF by cell kind: mean ± sd over the per-seed means, their 95% Student-t interval,"
        " and the worst single cell over all seeds.",
        *("configuration", "seeds:", "kind", "metric", "cells:", "mean ± sd:", "95% CI", "worst cell"),
    )
    for row in rows:
        for metric, label in (("bleu", "BLEU"), ("chrf", "chrF")):
            for kind, block in row.get(metric, {}).items():
                lines.append(
                    _line(
                        *(row["label"], _seeds(row), kind, label, block["cells"]),
                        *(_mean_sd(block, 2), _ci(block, 2), block["min_cell"]),
                    )
                )
    owns = [own for row in rows for own in row["own_pivot"].values()]
    if not any(key.endswith(":cell-pivot") for own in owns for key in own):
        return lines  # no zero-shot or plugged cell (e.g. a beam run over supervised cells only)
    lines += _table(
        "Each non-supervised cell against its own pivot in BLEU and chrF (cell − pivot: above 0 the"
        " cell beats its pivot), mean ± sd over the per-seed means, 95% interval, the worst cell, and"
        " how many cells of all seeds sacrebleu's paired bootstrap puts below, level with or above"
        " their pivot (p < 0.05):",
        *("configuration", "seeds:", "kind", "metric", "cells:", "cell − pivot mean ± sd:", "95% CI"),
        *("worst cell", "below / level / above"),
    )
    for row in rows:
        for kind, own in row["own_pivot"].items():
            for metric, label in (("bleu", "BLEU"), ("chrf", "chrF")):
                block = own.get(f"{metric}:cell-pivot")
                if block:
                    counts = block["verdicts"]
                    untested = f" ({counts['untested']} untested)" if counts["untested"] else ""
                    lines.append(
                        _line(
                            *(row["label"], _seeds(row), kind, label, block["cells"]),
                            *(_mean_sd(block, 2), _ci(block, 2), block["min_cell"]),
                            f"{counts['below']} / {counts['level']} / {counts['above']}{untested}",
                        )
                    )
    return lines


def _gap_counts(own: Mapping[str, Any]) -> str:
    """'12 / 3 / 1' (and '+ 2 untested' for cells of matrices written before gaps were measured)."""
    counts = own.get("gap_verdicts") or {}
    shown = " / ".join(str(counts.get(v, 0)) for v in GAP_VERDICTS)
    return shown + (f" + {counts['untested']} untested" if counts.get("untested") else "")


def _seeds(row: Mapping[str, Any]) -> str:
    return f"{row['seeds']} (+{row['failed']} failed)" if row["failed"] else str(row["seeds"])


def study_markdown(study: Mapping[str, Any]) -> str:
    rows = study["configurations"]
    lines = [
        f"{study['jobs']} jobs under {study['folder']}: {len(rows)} configuration(s); seeds per"
        " configuration: " + ", ".join(f"{row['label']} {row['seeds']}" for row in rows) + ".",
        *(
            ["", "Configurations:", "", *(f"- {row['label']}: `{row['configuration']}`" for row in rows)]
            if any(row["label"] != row["configuration"] for row in rows)
            else []
        ),
        *_table(
            "Exact match by cell kind: mean ± sd over the per-seed means, their 95% Student-t interval,"
            " the lowest per-seed mean, and the worst single cell over all seeds.",
            *("configuration", "seeds:", "kind", "cells:", "mean ± sd:", "95% CI", "min seed mean:"),
            "worst cell",
        ),
    ]
    for row in rows:
        blocks = [*row["exact"].items()] + ([("retrieval", row["retrieval"])] if "retrieval" in row else [])
        for kind, block in blocks:
            lines.append(
                _line(
                    *(row["label"], _seeds(row), kind, block["cells"], _mean_sd(block), _ci(block)),
                    *(f"{block['min_seed_mean']:.3f}", block["min_cell"]),
                )
            )
    if any(row["own_pivot"] for row in rows):
        lines += _table(
            "Each non-supervised cell against its own pivot (ratio: exact ÷ pivot exact; gap: pivot"
            " exact − exact), mean ± sd over the per-seed means, 95% interval, the worst cell; and the"
            f" cells (of every seed) whose gap's paired 95% interval lies within {PIVOT_GAP} of the"
            " pivot, beyond it, or across it (undecided at the matrix's items):",
            *("configuration", "seeds:", "kind", "cells:", "ratio mean ± sd:", "ratio 95% CI"),
            *("lowest ratio", "gap mean ± sd:", "gap 95% CI", "largest gap", " / ".join(GAP_VERDICTS)),
        )
        for row in rows:
            for kind, own in row["own_pivot"].items():
                ratio, gap = own["exact/pivot"], own["pivot-exact"]
                ratio_cells = [_mean_sd(ratio), _ci(ratio), ratio["min_cell"]] if ratio else ["—", "—", "—"]
                lines.append(
                    _line(
                        *(row["label"], _seeds(row), kind, gap["cells"], *ratio_cells),
                        *(_mean_sd(gap), _ci(gap), gap["max_cell"], _gap_counts(own)),
                    )
                )
    if any("bleu" in row or "chrf" in row for row in rows):
        lines += _scores_markdown(rows)
    if any(row.get("by_group") for row in rows):
        lines += _table(
            "Exact match by group (a phrasebook family, or a length band of a file corpus) and kind:"
            " each cell's share of its items of the group, mean ± sd over the per-seed means, the"
            " lowest per-seed mean, and the worst single cell:",
            *("configuration", "seeds:", "kind", "group", "cells:", "mean ± sd:", "min seed mean:"),
            "worst cell",
        )
        for row in rows:
            for kind, groups in (row.get("by_group") or {}).items():
                for group, block in groups.items():
                    lines.append(
                        _line(
                            *(row["label"], _seeds(row), kind, group, block["cells"]),
                            *(_mean_sd(block), f"{block['min_seed_mean']:.3f}", block["min_cell"]),
                        )
                    )
    if any(row.get("thought_distances") for row in rows):
        lines += _table(
            "Distance of the sources' thoughts from the reference language's (matrix.md) by group: the"
            " mean over sources, mean ± sd over the per-seed means, the largest per-seed mean, and the"
            " farthest source of any seed (0 = the same thoughts, about 2 = unrelated):",
            *("configuration", "seeds:", "group", "values:", "mean ± sd:", "max seed mean:", "farthest"),
        )
        for row in rows:
            for group, block in (row.get("thought_distances") or {}).items():
                lines.append(
                    _line(
                        *(row["label"], _seeds(row), group, block["cells"], _mean_sd(block)),
                        *(f"{block['max_seed_mean']:.3f}", block["max_cell"]),
                    )
                )
    if study["failed"]:
        lines += _table(
            f"Failed jobs ({len(study['failed'])} of {study['jobs']}, left out above; see each job's"
            " plugmt.log, fix the cause and rerun them):",
            *("job", "overrides", "problem"),
        )
        lines += [
            _line(job["job"], " ".join(job["overrides"]) or "—", job["problem"]) for job in study["failed"]
        ]
    return "\n".join(lines) + "\n"
