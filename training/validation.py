"""One validation pass: the scores of each trained direction (greedy exact match, chrF, teacher-forced
loss), the number a stage is judged by, and (`train.watch_unseen`) the directions it does not train
scored beside their pivots, which never enter that number."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from plugmt.corpora.pairs import Pair, pair_name, path_decoder, pivot_path


@dataclass
class Validation:
    """Per-direction scores of one validation pass, and the number it is judged by."""

    step: int
    exact: dict[Pair, float]
    chrf: dict[Pair, float]
    loss: dict[Pair, float] = field(default_factory=dict)
    # train.watch_unseen: chrF of each direction the stage does not train, and of its pivot through
    # trained directions (None: no pivot). Shown and logged, never part of `score`.
    unseen: dict[Pair, tuple[float, float | None]] = field(default_factory=dict)

    @property
    def score(self) -> float:
        """Mean chrF over the trained directions that translate (x -> x left out: at 84-92 chrF on
        Multi30k the three identities were three of the seven terms and flattened the mean; a stage
        that trains identities only is judged by them)."""
        translating = [c for (src, tgt), c in self.chrf.items() if src != tgt]
        return float(np.mean(translating or list(self.chrf.values())))

    @property
    def mean_loss(self) -> float:
        """Mean teacher-forced cross-entropy per token over the directions (nan if not measured)."""
        return float(np.mean(list(self.loss.values()))) if self.loss else float("nan")

    def value(self, select: str) -> float:
        """The number a monitor maximises: chrF, or minus the validation loss."""
        return -self.mean_loss if select == "loss" else self.score

    def to_json(self) -> dict[str, Any]:
        cells = [[*p, self.exact[p], self.chrf[p], self.loss.get(p)] for p in self.chrf]
        data: dict[str, Any] = {"step": self.step, "cells": cells}
        if self.unseen:
            data["unseen"] = [[*p, chrf, pivot] for p, (chrf, pivot) in self.unseen.items()]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Validation:
        cells = [
            (tuple(c[:2]), float(c[2]), float(c[3]), c[4] if len(c) > 4 else None) for c in data["cells"]
        ]
        return cls(
            int(data["step"]),
            {p: e for p, e, _, _ in cells},
            {p: c for p, _, c, _ in cells},
            {p: float(x) for p, _, _, x in cells if x is not None},
            {(c[0], c[1]): (float(c[2]), rounded(c[3])) for c in data.get("unseen", [])},
        )

    def summary(self) -> str:
        parts = [f"{pair_name(p)} {self.chrf[p]:.1f}" for p in self.chrf]
        loss = f", loss {self.mean_loss:.4f}" if self.loss else ""
        exact = np.mean(list(self.exact.values()))
        head = f"valid chrF {self.score:.2f} (exact {exact:.3f}{loss}): "
        return head + ", ".join(parts) + self.unseen_summary()

    def unseen_summary(self) -> str:
        """' · unseen de-fr 40.1 (pivot 45.3), ...' (empty when nothing is watched)."""
        if not self.unseen:
            return ""
        parts = [
            f"{pair_name(p)} {chrf:.1f}" + ("" if pivot is None else f" (pivot {pivot:.1f})")
            for p, (chrf, pivot) in self.unseen.items()
        ]
        return " · unseen " + ", ".join(parts)


def unseen_directions(pairs: Sequence[Pair], decoders: Sequence[str]) -> dict[Pair, list[str] | None]:
    """Each direction from a source of `pairs` into one of `decoders` that `pairs` does not train
    (the stage's zero-shot cells), mapped to its pivot path along the trained directions (None: none)."""
    edges = [(s, t) for s, t in pairs if s != t]
    trained = set(pairs)
    sources = sorted({s for s, _ in pairs})
    return {
        (s, t): pivot_path(s, t, edges)
        for s in sources
        for t in sorted(decoders)
        if s != t and (s, t) not in trained
    }


def pairs_validator(
    pipelines: Mapping[str, Callable[[Sequence[str]], list[str]]],
    sources: Mapping[str, Sequence[str]],
    references: Mapping[str, Sequence[str]],
    pairs: Sequence[Pair],
    unseen: Mapping[Pair, Sequence[str] | None] | None = None,
) -> Callable[[int], Validation]:
    """A `validate` function scoring each direction's greedy output on fixed validation rows; and,
    for each direction of `unseen` (mapped to its pivot path, or None), its chrF and its pivot's:
    the path's hops decoded one after another (`["de", "en", "fr"]`: de->en, then en->fr); a hop
    already decoded in the same pass (de->en, a trained direction) is reused, not decoded again."""
    from plugmt.evaluation.metrics import score

    def validate(step: int) -> Validation:
        # One pass's outputs by path: each hop decoded once.
        along = path_decoder(
            lambda src, tgt: pipelines[tgt](list(sources[src])), lambda tgt, texts: pipelines[tgt](texts)
        )

        exact, chrf, loss = {}, {}, {}
        for src, tgt in pairs:
            scores = score(along([src, tgt]), list(references[tgt]))
            exact[src, tgt], chrf[src, tgt] = scores["exact"], scores["chrf"]
            if hasattr(pipelines[tgt], "loss"):
                loss[src, tgt] = round(pipelines[tgt].loss(list(sources[src]), list(references[tgt])), 6)
        watched = {}
        for (src, tgt), path in (unseen or {}).items():
            reference = list(references[tgt])
            pivot = score(along(path), reference)["chrf"] if path else None
            watched[src, tgt] = (score(along([src, tgt]), reference)["chrf"], pivot)
        return Validation(step, exact, chrf, loss, watched)

    return validate


def rounded(value: float | None, digits: int | None = None) -> float | None:
    """A float (rounded to `digits`), or None for None."""
    if value is None:
        return None
    return float(value) if digits is None else round(float(value), digits)
