"""A result is a distribution over seeds, not a run: values grouped by seed, summarised as the mean
of the per-seed means, its sd, a 95% Student-t interval, and the extreme cells named."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

# Two-sided 95% quantiles of Student's t for 1..30 degrees of freedom; beyond 30, the normal's 1.96.
_T95 = """12.706 4.303 3.182 2.776 2.571 2.447 2.365 2.306 2.262 2.228 2.201 2.179 2.160 2.145 2.131
2.120 2.110 2.101 2.093 2.086 2.080 2.074 2.069 2.064 2.060 2.056 2.052 2.048 2.045 2.042"""
T95 = {df: float(t) for df, t in enumerate(_T95.split(), start=1)}


def t95(df: int) -> float:
    """The t factor of a two-sided 95% interval with `df` degrees of freedom (df >= 1)."""
    if df < 1:
        raise ValueError(f"a t interval needs at least one degree of freedom, not {df}")
    return T95.get(df, 1.96)


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
