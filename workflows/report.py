"""The matrix as files a person reads: Markdown, JSON and a heatmap."""

from __future__ import annotations

import json
from pathlib import Path

from plugmt.workflows.evaluation import SUPERVISED, Matrix

_KIND_MARK = {"supervised": "S", "zero-shot": "Z", "plugged": "P", "foreign": "F"}


def _pivot(cell, key: str) -> str:
    if not cell.pivot:
        return "—"
    return f"{cell.pivot[key]:.3f}" if key == "exact" else f"{cell.pivot[key]:.1f}"


def markdown(matrix: Matrix) -> str:
    lines = [
        f"Encoder `{matrix.encoder}`, {matrix.split} split, n={matrix.cells[0].n if matrix.cells else 0}"
        " items per cell.",
        "",
        "| src→tgt | kind | exact | chrF | BLEU | pivot path | pivot exact | pivot chrF | pivot BLEU |",
        "|---|---|---:|---:|---:|---|---:|---:|---:|",
    ]
    for c in matrix.cells:
        path = "→".join(c.pivot["path"]) if c.pivot else "—"
        lines.append(
            f"| {c.src}→{c.tgt} | {c.kind} | {c.exact:.3f} | {c.chrf:.1f} | {c.bleu:.1f} | {path} | "
            f"{_pivot(c, 'exact')} | {_pivot(c, 'chrf')} | {_pivot(c, 'bleu')} |"
        )
    sources = sorted({c.src for c in matrix.cells})
    targets = sorted({c.tgt for c in matrix.cells})
    grid = {(c.src, c.tgt): c for c in matrix.cells}
    lines += ["", "Exact match (S supervised, Z zero-shot, P plugged, F foreign):", ""]
    lines.append("| src \\ tgt | " + " | ".join(targets) + " |")
    lines.append("|---|" + "---:|" * len(targets))
    for s in sources:
        row = [
            f"{grid[s, t].exact:.2f} {_KIND_MARK[grid[s, t].kind]}" if (s, t) in grid else "·"
            for t in targets
        ]
        lines.append(f"| {s} | " + " | ".join(row) + " |")
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
    non_supervised = [c for c in matrix.cells if c.kind != SUPERVISED]
    if non_supervised:
        lines += [
            "",
            "BLEU: " + matrix.signatures.get("bleu", ""),
            "chrF: " + matrix.signatures.get("chrf", ""),
        ]
    return "\n".join(lines) + "\n"


def heatmap(matrix: Matrix, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    sources = sorted({c.src for c in matrix.cells})
    targets = sorted({c.tgt for c in matrix.cells})
    values = np.full((len(sources), len(targets)), np.nan)
    fig, ax = plt.subplots(figsize=(1.2 * len(targets) + 2, 0.9 * len(sources) + 1.5))
    for c in matrix.cells:
        i, j = sources.index(c.src), targets.index(c.tgt)
        values[i, j] = c.exact
        colour = "white" if c.exact > 0.6 else "black"
        ax.text(j, i, f"{c.exact:.2f}\n{c.kind}", ha="center", va="center", fontsize=8, color=colour)
    image = ax.imshow(values, vmin=0, vmax=1, cmap="viridis_r")
    ax.set_xticks(range(len(targets)), targets)
    ax.set_yticks(range(len(sources)), sources)
    ax.set_xlabel("target (decoder)")
    ax.set_ylabel("source")
    ax.set_title(f"exact match · encoder {matrix.encoder}")
    fig.colorbar(image, ax=ax)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_report(matrix: Matrix, out: Path) -> str:
    """matrix.json, matrix.md and matrix.png in `out`; returns the Markdown."""
    out.mkdir(parents=True, exist_ok=True)
    text = markdown(matrix)
    (out / "matrix.json").write_text(json.dumps(matrix.to_json(), indent=2) + "\n")
    (out / "matrix.md").write_text(text)
    heatmap(matrix, out / "matrix.png")
    return text
