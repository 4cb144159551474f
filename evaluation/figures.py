"""Figures a person looks at rather than reads: the zero-shot matrix, each unseen cell coloured by its
difference from its own pivot (exact match and chrF), and a seed study's means with their intervals.

matplotlib is imported only when a figure is drawn, with its Agg backend (files, no display). The
numbers each figure colours come from small pure functions (`difference_grid`, `study_points`) so
they can be checked without looking at pixels.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from plugmt.evaluation.matrix import KINDS, PLUGGED, PLUGGED_BOTH, SUPERVISED, Matrix

METRICS = (("exact", "exact match"), ("chrf", "chrF"))
KIND_LETTER = {
    "supervised": "S",
    "zero-shot": "Z",
    "plugged": "P",
    "foreign": "F",
    "plugged-source": "R",
    "plugged-both": "B",
}
# The smallest colour range: a matrix whose cells all sit within a hair of their pivots is not
# painted in full red and blue.
_LEAST_RANGE = {"exact": 0.05, "chrf": 2.0}
_GREY = (0.8, 0.8, 0.8)


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend, imported on first use."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


@dataclass
class Grid:
    """One metric of a matrix as source × target arrays (NaN where there is no cell)."""

    sources: list[str]
    targets: list[str]
    values: np.ndarray  # the cell's score
    differences: np.ndarray  # the cell's score minus its own pivot's: unseen cells with a pivot only
    kinds: list[list[str | None]]


def difference_grid(matrix: Matrix, metric: str) -> Grid:
    """The numbers the matrix figure shows for `metric` (exact or chrf): each cell's value, and for
    each non-supervised cell with a pivot its value minus that pivot's (the colour)."""
    sources = sorted({c.src for c in matrix.cells})
    targets = sorted({c.tgt for c in matrix.cells})
    values = np.full((len(sources), len(targets)), np.nan)
    differences = np.full_like(values, np.nan)
    kinds: list[list[str | None]] = [[None] * len(targets) for _ in sources]
    for cell in matrix.cells:
        i, j = sources.index(cell.src), targets.index(cell.tgt)
        values[i, j] = getattr(cell, metric)
        kinds[i][j] = cell.kind
        if cell.kind != SUPERVISED and cell.pivot and cell.pivot.get(metric) is not None:
            differences[i, j] = getattr(cell, metric) - cell.pivot[metric]
    return Grid(sources, targets, values, differences, kinds)


def _number(value: float, metric: str) -> str:
    return f"{value:.2f}" if metric == "exact" else f"{value:.1f}"


def _signed(value: float, metric: str) -> str:
    digits = 2 if metric == "exact" else 1
    if round(value, digits) == 0:
        return f"±{0:.{digits}f}"
    return f"{value:+.{digits}f}".replace("-", "−")


def _matrix_panel(fig: Any, ax: Any, grid: Grid, metric: str, label: str, font: float) -> None:
    from matplotlib.colors import Normalize
    from matplotlib.patches import Rectangle

    plt = pyplot()
    finite = np.abs(grid.differences[np.isfinite(grid.differences)])
    limit = max(float(finite.max()) if finite.size else 0.0, _LEAST_RANGE[metric])
    norm = Normalize(-limit, limit)
    cmap = plt.get_cmap("RdBu").with_extremes(bad="white")
    image = ax.imshow(np.ma.masked_invalid(grid.differences), cmap=cmap, norm=norm)
    for i, row in enumerate(grid.kinds):
        for j, kind in enumerate(row):
            if kind is None:
                if grid.sources[i] == grid.targets[j]:
                    ax.text(j, i, "—", ha="center", va="center", fontsize=font, color="0.75")
                continue
            value, difference = grid.values[i, j], grid.differences[i, j]
            colour = "black"
            if kind == SUPERVISED or not np.isfinite(difference):
                shade = _GREY if kind == SUPERVISED else (0.93, 0.93, 0.93)
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, color=shade, zorder=1))
                text = _number(value, metric) + ("" if kind == SUPERVISED else "\nno pivot")
            else:
                text = f"{_number(value, metric)}\n{_signed(difference, metric)}"
                colour = "white" if abs(difference) > 0.6 * limit else "black"
            if kind in (PLUGGED, PLUGGED_BOTH):
                hatch = Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="///", linewidth=0)
                hatch.set_edgecolor((0, 0, 0, 0.25))
                ax.add_patch(hatch)
            ax.text(j, i + 0.06, text, ha="center", va="center", fontsize=font, color=colour, zorder=3)
            ax.text(
                j - 0.44, i - 0.44, KIND_LETTER.get(kind, "?"), ha="left", va="top",
                fontsize=font * 0.8, color=colour, alpha=0.8, zorder=3,
            )  # fmt: skip
    ax.set_xticks(range(len(grid.targets)), grid.targets, fontsize=font + 2)
    ax.set_yticks(range(len(grid.sources)), grid.sources, fontsize=font + 2)
    ax.set_xticks(np.arange(len(grid.targets) + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(len(grid.sources) + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="white", linewidth=1.5)
    ax.tick_params(which="minor", length=0)
    ax.set_xlabel("target (decoder)", fontsize=font + 2)
    ax.set_ylabel("source", fontsize=font + 2)
    ax.set_title(f"{label}: each cell and its difference from its pivot", fontsize=11 if font > 8 else 12)
    bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.03)
    bar.set_label(f"{label} − its pivot's {label} (unseen cells)", fontsize=font + 2)


def matrix_title(matrix: Matrix) -> str:
    """matrix.png's title: the encoder, split, items per cell and how the cells were decoded, then
    the legend."""
    counts = sorted({c.n for c in matrix.cells}) or [0]
    n = f"n={counts[0]}" if len(counts) == 1 else f"n={counts[0]}–{counts[-1]}"
    search = matrix.search_text()
    return (
        f"Zero-shot matrix · encoder {matrix.encoder} · {matrix.split} split · {n} items per cell"
        f"{' · ' + search if search else ''}\n"
        "S supervised (grey) · Z zero-shot · P plugged (hatched) · F foreign\n"
        "colour: the cell minus its own pivot (blue: better than the pivot, red: worse)"
    )


def matrix_figure(matrix: Matrix, path: Path) -> None:
    """matrix.png: one panel per metric (exact match, chrF), each unseen cell coloured by its
    difference from its own pivot (blue better, red worse, centred at 0), supervised cells grey;
    every cell shows its value and the signed difference, its kind's letter, plugged cells hatched."""
    plt = pyplot()
    grids = [(difference_grid(matrix, key), key, label) for key, label in METRICS]
    rows, cols = len(grids[0][0].sources), len(grids[0][0].targets)
    size = max(rows, cols, 1)
    font = float(np.clip(12 - 0.35 * size, 7.0, 10.0))  # 5 languages: 10 pt; 15: 7 pt
    inches = 0.9 if size <= 6 else 0.78
    width, height = max(inches * cols + 2.6, 7.0), max(inches * rows + 2.6, 5.0)
    fig, axes = plt.subplots(1, len(grids), figsize=(len(grids) * width, height), squeeze=False)
    for ax, (grid, key, label) in zip(axes[0], grids, strict=True):
        _matrix_panel(fig, ax, grid, key, label, font)
    fig.suptitle(matrix_title(matrix), fontsize=10 if size <= 6 else 13)
    fig.tight_layout()
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


# --------------------------------------------------------------------------- plugmt-study

STUDY_KINDS = (*KINDS, "pivot")
_KIND_COLOUR = {
    "supervised": "0.45",
    "zero-shot": "tab:blue",
    "plugged": "tab:orange",
    "foreign": "tab:purple",
    "plugged-source": "tab:red",
    "plugged-both": "tab:brown",
    "pivot": "tab:green",
}


def study_points(study: Mapping[str, Any], metric: str) -> list[dict[str, Any]]:
    """What the study plot draws for `metric`: per configuration and kind, the mean over seeds, its
    95% interval (None with one seed), the lowest per-seed mean and the worst single cell."""
    points = []
    for row in study["configurations"]:
        for kind in STUDY_KINDS:
            block = (row.get(metric) or {}).get(kind)
            if block:
                points.append(
                    {
                        "configuration": row["label"],
                        "kind": kind,
                        "seeds": block["seeds"],
                        "mean": block["mean"],
                        "ci95": block["ci95"],
                        "min_seed_mean": block["min_seed_mean"],
                        "min": block["min"],
                    }
                )
    return points


def study_figure(study: Mapping[str, Any], path: Path) -> None:
    """study.png: one panel per metric present, a band per configuration, a marker per cell kind at
    its mean over seeds with the 95% interval as error bars; ▼ the lowest seed mean, × the worst cell."""
    plt = pyplot()
    from matplotlib.lines import Line2D

    rows = study["configurations"]
    metrics = [(key, label) for key, label in METRICS if study_points(study, key)]
    kinds = [k for k in STUDY_KINDS if any(k in (row.get("exact") or {}) for row in rows)]
    names = [row["label"] for row in rows]
    height = len(rows) * (0.3 * len(kinds) + 0.5) + 1.8
    fig, axes = plt.subplots(
        1, len(metrics), figsize=(5.5 * len(metrics) + 2.5, height), sharey=True, squeeze=False
    )
    step = 0.8 / max(len(kinds), 1)
    for ax, (key, label) in zip(axes[0], metrics, strict=True):
        for point in study_points(study, key):
            offset = (kinds.index(point["kind"]) - (len(kinds) - 1) / 2) * step
            y = names.index(point["configuration"]) + offset
            colour, mean = _KIND_COLOUR[point["kind"]], point["mean"]
            if point["ci95"]:
                low, high = point["ci95"]
                ax.errorbar(mean, y, xerr=[[mean - low], [high - mean]], fmt="o", color=colour, capsize=3)
            else:  # one seed: no interval, a hollow marker
                ax.plot(mean, y, "o", mfc="white", color=colour)
            ax.plot(point["min_seed_mean"], y, "v", color=colour, markersize=5, alpha=0.8)
            ax.plot(point["min"], y, "x", color=colour, markersize=5, alpha=0.8)
            ax.annotate(
                _number(mean, key), (mean, y), xytext=(0, 4), textcoords="offset points",
                ha="center", va="bottom", fontsize=6.5, color=colour,
            )  # fmt: skip
        labels = [textwrap.fill(row["label"], 32) + f"\n({row['seeds']} seeds)" for row in rows]
        ax.set_yticks(range(len(names)), labels, fontsize=8)
        # The view ends at the metric's top (1 or 100): a t-interval may reach past it, a score cannot.
        top = 1.0 if key == "exact" else 100.0
        low = min(min(p["min"], p["ci95"][0] if p["ci95"] else p["mean"]) for p in study_points(study, key))
        ax.set_xlim(max(0.0, low - 0.04 * (top - low + 1e-9)), top + 0.07 * (top - low + 1e-9))
        ax.set_ylim(len(names) - 0.5, -0.5)
        for edge in range(1, len(names)):
            ax.axhline(edge - 0.5, color="0.85", linewidth=0.8)
        ax.grid(axis="x", color="0.92")
        ax.set_xlabel(f"{label}: mean over seeds, 95% t-interval (cut at {top:g})", fontsize=9)
        ax.set_title(label, fontsize=10)
    handles = [Line2D([], [], marker="o", linestyle="", color=_KIND_COLOUR[k], label=k) for k in kinds]
    handles += [
        Line2D([], [], marker="v", linestyle="", color="0.3", label="lowest seed mean"),
        Line2D([], [], marker="x", linestyle="", color="0.3", label="worst single cell"),
    ]
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8, frameon=False)
    fig.suptitle(f"Seed study · {study['jobs']} jobs under {Path(study['folder']).name}", fontsize=10)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
