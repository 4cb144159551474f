"""Watching a stage train: validation every so often, the best weights kept, early stopping, TensorBoard.

Real corpora overfit and their loss says little about translation quality, so a stage can score the
validation split every `train.validate_every` steps (mean chrF over its trained directions, from
sacrebleu), keep the weights of the best score, stop after `train.patience` validations without a
gain, and leave the best weights in the modules it saves (checkpoint selection by validation chrF).
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

    @property
    def score(self) -> float:
        return float(np.mean(list(self.chrf.values())))

    def to_json(self) -> dict[str, Any]:
        return {"step": self.step, "cells": [[*p, self.exact[p], self.chrf[p]] for p in self.chrf]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Validation:
        cells = [(tuple(c[:2]), float(c[2]), float(c[3])) for c in data["cells"]]
        return cls(int(data["step"]), {p: e for p, e, _ in cells}, {p: c for p, _, c in cells})

    def summary(self) -> str:
        parts = [f"{pair_name(p)} {self.chrf[p]:.1f}" for p in self.chrf]
        return f"valid chrF {self.score:.2f} (exact {np.mean(list(self.exact.values())):.3f}): " + ", ".join(
            parts
        )


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
    history: list[Validation] = field(default_factory=list)
    best: Validation | None = None
    _best_weights: dict[str, list[np.ndarray]] = field(default_factory=dict)
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
        improved = self.best is None or result.score > self.best.score
        if improved:
            self.best = result
            self._best_weights = {name: layer.get_weights() for name, layer in self.layers.items()}
        log.info(f"step {step} · {result.summary()}{' · best so far' if improved else ''}")
        values = {"valid/chrf": result.score}
        values.update({f"valid/chrf/{pair_name(p)}": v for p, v in result.chrf.items()})
        values.update({f"valid/exact/{pair_name(p)}": v for p, v in result.exact.items()})
        self.scalars(step, values)
        if self.patience is None or improved:
            return False
        since = len(self.history) - 1 - self.history.index(self.best)
        return since >= int(self.patience)

    def state(self) -> dict[str, Any]:
        """The validations so far and which one is best (JSON); its weights are `best_arrays`."""
        best = None if self.best is None else self.history.index(self.best)
        return {"history": [v.to_json() for v in self.history], "best": best}

    def best_arrays(self) -> list[np.ndarray]:
        """The best weights as one flat list, layers in name order (see `restore`)."""
        return [w for name in sorted(self._best_weights) for w in self._best_weights[name]]

    def restore(self, state: Mapping[str, Any], arrays: Sequence[np.ndarray]) -> None:
        """Back to a checkpointed `state` and its `best_arrays`, so a resumed stage selects from
        every validation of the whole run, not only those after the restart."""
        self.history = [Validation.from_json(v) for v in state["history"]]
        self.best = None if state["best"] is None else self.history[int(state["best"])]
        self._best_weights, start = {}, 0
        if self.best is not None:
            for name in sorted(self.layers):
                count = len(self.layers[name].get_weights())
                self._best_weights[name] = list(arrays[start : start + count])
                start += count

    def restore_best(self) -> int | None:
        """Put the best validated weights back; the step they come from (None if never validated)."""
        if self.best is None:
            return None
        if self.best is not self.history[-1]:
            for name, weights in self._best_weights.items():
                self.layers[name].set_weights(weights)
            log.info(f"keeping the weights of step {self.best.step} (valid chrF {self.best.score:.2f})")
        return self.best.step

    def record(self) -> dict[str, Any]:
        """What the stored modules remember of it."""
        if self.best is None:
            return {}
        return {
            "selected_step": self.best.step,
            "valid_chrf": round(self.best.score, 2),
            "validations": [[v.step, round(v.score, 2)] for v in self.history],
        }


def pairs_validator(
    pipelines: Mapping[str, Callable[[Sequence[str]], list[str]]],
    sources: Mapping[str, Sequence[str]],
    references: Mapping[str, Sequence[str]],
    pairs: Sequence[Pair],
) -> Callable[[int], Validation]:
    """A `validate` function scoring each direction's greedy output on fixed validation rows."""
    from plugmt.workflows.evaluation import score

    def validate(step: int) -> Validation:
        exact, chrf = {}, {}
        for src, tgt in pairs:
            scores = score(pipelines[tgt](list(sources[src])), list(references[tgt]))
            exact[src, tgt], chrf[src, tgt] = scores["exact"], scores["chrf"]
        return Validation(step, exact, chrf)

    return validate
