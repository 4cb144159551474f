"""Watching a stage train: validation every so often, the best weights kept, early stopping, TensorBoard.

A stage scores the validation split every `train.validate_every` steps: greedy exact match and chrF
(sacrebleu) and the teacher-forced loss of each trained direction. It keeps the weights of the best
validation (`train.select`: the lowest loss, the default, which keeps falling after exact match
saturates at 1.0 on easy data and so keeps choosing more confident weights; or the best chrF, for real
corpora where loss and translation quality part ways), stops after `train.patience` validations
without a relative gain of `train.min_delta`, and leaves the best weights in the modules it saves.
Everything it logs also goes to TensorBoard when `train.tensorboard` names a folder.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from plugmt.corpora.pairs import Pair, pair_name
from plugmt.errors import PlugmtError

log = logging.getLogger("plugmt.train")


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
        """Mean chrF over the trained directions."""
        return float(np.mean(list(self.chrf.values())))

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
            {(c[0], c[1]): (float(c[2]), _number(c[3])) for c in data.get("unseen", [])},
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


@dataclass
class Monitor:
    """Validates on request, remembers the best weights, says when to stop.

    `validate` is a function from the step to a `Validation`; `layers` are the Keras layers whose
    weights are the model (snapshotted as NumPy copies, so a better later step can replace them).
    """

    validate: Callable[[int], Validation]
    layers: Mapping[str, Any]
    every: int | None = None
    patience: int | None = None
    tensorboard: str | None = None
    select: str = "loss"  # keep the weights of the lowest validation loss ("loss") or best chrF ("chrf")
    min_delta: float = 0.01  # a gain is a relative improvement of more than this (patience)
    average_last: int = 0  # >= 2: at the end, also try the average of the last N validated weights
    history: list[Validation] = field(default_factory=list)
    best: Validation | None = None
    last_gain: int | None = None  # index in history of the last validation that counted as a gain
    averaged: Validation | None = None  # the average's validation, when it was kept
    averaged_steps: list[int] = field(default_factory=list)
    _best_weights: dict[str, list[np.ndarray]] = field(default_factory=dict)
    _recent: list[tuple[int, dict[str, list[np.ndarray]]]] = field(default_factory=list)
    _writer: Any = None

    def __post_init__(self) -> None:
        if self.tensorboard:
            try:
                import tensorboard  # noqa: F401  (tf.summary writes nothing without it)
            except ImportError:
                raise PlugmtError(
                    "train.tensorboard needs the tensorboard package: pip install tensorboard"
                ) from None
            Path(self.tensorboard).mkdir(parents=True, exist_ok=True)
            self._writer = tf.summary.create_file_writer(str(self.tensorboard))

    def scalars(self, step: int, values: Mapping[str, float]) -> None:
        """Training curves (loss, alignment, throughput) to TensorBoard, if it is on."""
        if self._writer is None:
            return
        with self._writer.as_default(step=step):
            for name, value in values.items():
                tf.summary.scalar(name, float(value))
        self._writer.flush()

    def due(self, step: int) -> bool:
        return bool(self.every) and step % int(self.every) == 0

    def check(self, step: int) -> bool:
        """Validate now; True when training should stop (no gain for `patience` validations)."""
        result = self.validate(step)
        self.history.append(result)
        value = result.value(self.select)
        # Ties go to the later weights: equally good on the sample, and trained longer.
        improved = self.best is None or value >= self.best.value(self.select)
        if improved or self.average_last > 1:
            weights = {name: layer.get_weights() for name, layer in self.layers.items()}
        if improved:
            self.best = result
            self._best_weights = weights
        if self.average_last > 1:  # the last N validated weights, candidates for the final average
            self._recent = [*self._recent, (step, weights)][-self.average_last :]
        reference = None if self.last_gain is None else self.history[self.last_gain].value(self.select)
        if reference is None or value > reference + self.min_delta * abs(reference):
            self.last_gain = len(self.history) - 1
        log.info(f"step {step} · {result.summary()}{' · best so far' if improved else ''}")
        values = {"valid/chrf": result.score}
        if result.loss:
            values["valid/loss"] = result.mean_loss
        values.update({f"valid/chrf/{pair_name(p)}": v for p, v in result.chrf.items()})
        values.update({f"valid/exact/{pair_name(p)}": v for p, v in result.exact.items()})
        for p, (chrf, pivot) in result.unseen.items():
            values[f"valid/unseen/{pair_name(p)}"] = chrf
            if pivot is not None:
                values[f"valid/unseen_pivot/{pair_name(p)}"] = pivot
        self.scalars(step, values)
        if self.patience is None:
            return False
        return len(self.history) - 1 - self.last_gain >= int(self.patience)

    def state(self) -> dict[str, Any]:
        """The validations so far and which one is best (JSON); its weights are `best_arrays`, the
        last validated weights (train.average_last) `recent_arrays`."""
        best = None if self.best is None else self.history.index(self.best)
        return {
            "history": [v.to_json() for v in self.history],
            "best": best,
            "last_gain": self.last_gain,
            "recent": [step for step, _ in self._recent],
        }

    def best_arrays(self) -> list[np.ndarray]:
        """The best weights as one flat list, layers in name order (see `restore`)."""
        return _flat(self._best_weights)

    def recent_arrays(self) -> list[np.ndarray]:
        """The last validated weights (train.average_last), oldest first, as one flat list."""
        return [w for _, weights in self._recent for w in _flat(weights)]

    def restore(
        self, state: Mapping[str, Any], arrays: Sequence[np.ndarray], recent: Sequence[np.ndarray] = ()
    ) -> None:
        """Back to a checkpointed `state`, its `best_arrays` and `recent_arrays`, so a resumed stage
        selects from every validation of the whole run, not only those after the restart."""
        self.history = [Validation.from_json(v) for v in state["history"]]
        self.best = None if state["best"] is None else self.history[int(state["best"])]
        self.last_gain = state.get("last_gain", state["best"])
        self._best_weights = self._unflat(arrays) if self.best is not None else {}
        steps = list(state.get("recent", []))
        size = len(recent) // max(len(steps), 1)
        self._recent = [
            (step, self._unflat(recent[i * size : (i + 1) * size])) for i, step in enumerate(steps)
        ]

    def _unflat(self, arrays: Sequence[np.ndarray]) -> dict[str, list[np.ndarray]]:
        weights, start = {}, 0
        for name in sorted(self.layers):
            count = len(self.layers[name].get_weights())
            weights[name] = list(arrays[start : start + count])
            start += count
        return weights

    def restore_best(self) -> int | None:
        """Put the best validated weights back — or, with train.average_last, the average of the last
        validated weights when it validates at least as well; the step they come from (the average:
        its last step; None if never validated)."""
        if self.best is None:
            return None
        tried = len(self._recent) > 1
        if tried and self._try_average():
            return self.averaged.step
        if self.best is not self.history[-1] or tried:  # the layers hold other weights
            for name, weights in self._best_weights.items():
                self.layers[name].set_weights(weights)
            log.info(f"keeping the weights of step {self.best.step} ({self.best.summary().split(':')[0]})")
        return self.best.step

    def _try_average(self) -> bool:
        """Load the mean of the last validated weights and validate it; True (and kept) when it is
        at least as good as the best single validation by train.select."""
        steps = [step for step, _ in self._recent]
        for name in self.layers:
            snapshots = [weights[name] for _, weights in self._recent]
            mean = [np.mean(np.stack(ws), axis=0).astype(ws[0].dtype) for ws in zip(*snapshots, strict=True)]
            self.layers[name].set_weights(mean)
        result = self.validate(steps[-1])
        kept = result.value(self.select) >= self.best.value(self.select)
        log.info(
            f"average of the weights of steps {', '.join(map(str, steps))} · {result.summary()} · "
            + ("kept" if kept else f"not kept (step {self.best.step} validates better)")
        )
        if kept:
            self.averaged = result
            self.averaged_steps = steps
        return kept

    def record(self) -> dict[str, Any]:
        """What the stored modules remember of it."""
        if self.best is None:
            return {}
        chosen = self.averaged or self.best
        return {
            "selected_step": chosen.step,
            # train.average_last: the steps whose weights were averaged into the stored ones (None:
            # the weights of selected_step itself)
            "averaged_steps": self.averaged_steps if self.averaged else None,
            "valid_chrf": round(chosen.score, 2),
            "valid_loss": None if not chosen.loss else round(chosen.mean_loss, 5),
            "selected_on": self.select,
            "validations": [[v.step, round(v.score, 2)] for v in self.history],
            # The same validations' mean exact match and loss, for the stage's curves figure.
            "validation_exact": [
                [v.step, round(float(np.mean(list(v.exact.values()))), 4)] for v in self.history
            ],
            "validation_loss": [[v.step, round(v.mean_loss, 5)] for v in self.history if v.loss],
            # train.watch_unseen: [step, [[src, tgt, chrF, its pivot's chrF or None], ...]] per validation
            "validation_unseen": [
                [v.step, [[*p, round(c, 2), _number(q, 2)] for p, (c, q) in v.unseen.items()]]
                for v in self.history
                if v.unseen
            ],
        }


def _number(value: float | None, digits: int | None = None) -> float | None:
    """A float (rounded to `digits`), or None for None."""
    if value is None:
        return None
    return float(value) if digits is None else round(float(value), digits)


def _flat(weights: Mapping[str, list[np.ndarray]]) -> list[np.ndarray]:
    """Layers' weights as one flat list, layers in name order."""
    return [w for name in sorted(weights) for w in weights[name]]


def pairs_validator(
    pipelines: Mapping[str, Callable[[Sequence[str]], list[str]]],
    sources: Mapping[str, Sequence[str]],
    references: Mapping[str, Sequence[str]],
    pairs: Sequence[Pair],
    unseen: Mapping[Pair, Sequence[str] | None] | None = None,
) -> Callable[[int], Validation]:
    """A `validate` function scoring each direction's greedy output on fixed validation rows; and,
    for each direction of `unseen` (mapped to its pivot path, or None), its chrF and its pivot's:
    the path's hops decoded one after another (`["de", "en", "fr"]`: de->en, then en->fr)."""
    from plugmt.evaluation.metrics import score

    def validate(step: int) -> Validation:
        exact, chrf, loss = {}, {}, {}
        for src, tgt in pairs:
            pipeline = pipelines[tgt]
            scores = score(pipeline(list(sources[src])), list(references[tgt]))
            exact[src, tgt], chrf[src, tgt] = scores["exact"], scores["chrf"]
            if hasattr(pipeline, "loss"):
                loss[src, tgt] = round(pipeline.loss(list(sources[src]), list(references[tgt])), 6)
        watched = {}
        for (src, tgt), path in (unseen or {}).items():
            reference = list(references[tgt])
            direct = score(pipelines[tgt](list(sources[src])), reference)["chrf"]
            pivot = None
            if path:
                texts = list(sources[src])
                for lang in path[1:]:
                    texts = pipelines[lang](texts)
                pivot = score(texts, reference)["chrf"]
            watched[src, tgt] = (direct, pivot)
        return Validation(step, exact, chrf, loss, watched)

    return validate
