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

from plugmt.corpora.pairs import pair_name
from plugmt.errors import PlugmtError
from plugmt.training.validation import Validation, rounded

log = logging.getLogger("plugmt.train")


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
                [v.step, [[*p, round(c, 2), rounded(q, 2)] for p, (c, q) in v.unseen.items()]]
                for v in self.history
                if v.unseen
            ],
        }


def _flat(weights: Mapping[str, list[np.ndarray]]) -> list[np.ndarray]:
    """Layers' weights as one flat list, layers in name order."""
    return [w for name in sorted(weights) for w in weights[name]]
