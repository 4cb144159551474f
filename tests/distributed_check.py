"""Run by test_distribute.py in its own process: TensorFlow must see two logical CPUs from its start.

Prints one JSON line: the largest difference between a MirroredStrategy step over the two devices and
the single-device step on the same global batch, for each setting checked.
"""

from __future__ import annotations

import contextlib
import json
import sys

import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

from plugmt.corpora.batches import MultiTargetBatches  # noqa: E402
from plugmt.registry import build_decoder, build_encoder, load_architectures  # noqa: E402
from plugmt.storage.weights import weight_arrays  # noqa: E402
from plugmt.training.distribute import DistributedTrainer, make_strategy, scope  # noqa: E402
from plugmt.training.settings import TrainSettings  # noqa: E402
from plugmt.training.step import Trainer  # noqa: E402

LANGS = ("en", "fr")  # two sources, two decoders: every path of the step, each traced 4 times


def build(seed: int):
    import keras

    keras.utils.set_random_seed(seed)
    encoder = build_encoder({"name": "lstm", "units": 8, "embed_dim": 4}, vocab_size=12)
    decoders = {
        lang: build_decoder({"name": "lstm", "embed_dim": 4}, 12, encoder.thought_spec()) for lang in LANGS
    }
    return encoder, decoders


def batches(seed: int) -> MultiTargetBatches:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(2, 9, size=64)
    rows = {
        lang: np.array([list(rng.integers(3, 12, size=n)) + [0] * (10 - n) for n in lengths], dtype=np.int32)
        for lang in LANGS
    }
    pairs = [("en", "fr"), ("fr", "en")]
    return MultiTargetBatches(rows, rows, ["a"] * 64, pairs, list(LANGS), 8, seed, two_sources=True)


# Clipping on; no noise, validation or time cap (the dataclass's defaults are the default recipe's).
SETTINGS = TrainSettings(
    batch_size=8,
    clip_norm=0.05,
    log_every=2,
    checkpoint_every=2,
    thought_noise=0.0,
    validate_every=None,
    patience=None,
    max_seconds=None,
)
STEPS = 4


def weights_of(encoder, decoders) -> list[np.ndarray]:
    return [w for layer in (encoder, *decoders.values()) for w in weight_arrays(layer)]


def gap(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    return max(float(np.max(np.abs(x - y))) for x, y in zip(a, b, strict=True))


def compare(strategy) -> tuple[dict[str, float], list[np.ndarray]]:
    """The single-device and the mirrored step, side by side on the same batches and weights."""
    single = build(0)
    with scope(strategy):
        mirrored = build(0)
    plain = Trainer(*single, SETTINGS, train_encoder=True, sources=2)
    distributed = DistributedTrainer(strategy, *mirrored, SETTINGS, True, 2)
    stream, loss_gap = batches(1), 0.0
    for _ in range(STEPS):
        batch = next(stream)
        (a_losses, a_align), (b_losses, b_align) = plain(batch), distributed(batch)
        loss_gap = max(loss_gap, float(np.max(np.abs(a_losses - b_losses))), abs(a_align - b_align))
    result = {
        "loss_gap": loss_gap,
        "weight_gap": gap(weights_of(*single), weights_of(*mirrored)),
        "moved": gap(weights_of(*build(0)), weights_of(*single)),
    }
    return result, weights_of(*mirrored)


class Killed(Exception):
    """Raised by `Crashing` where a killed process would have stopped."""


class Crashing:
    """A batch stream that dies on its `crash`-th draw, as a killed process would stop there."""

    def __init__(self, stream: MultiTargetBatches, crash: int) -> None:
        self.stream, self.crash, self.drawn = stream, crash, 0

    def __getattr__(self, name: str):
        return getattr(self.stream, name)

    def __next__(self):
        self.drawn += 1
        if self.drawn == self.crash:
            raise Killed
        return next(self.stream)


def resumed(strategy, folder: str) -> list[np.ndarray]:
    """A mirrored fit killed after its step-2 checkpoint, then run again: the weights it ends with."""
    from plugmt.training.loop import fit

    with scope(strategy):
        model = build(0)
    with contextlib.suppress(Killed):
        fit(*model, Crashing(batches(1), 3), STEPS, SETTINGS, True, "joint", strategy, folder)
    with scope(strategy):
        model = build(5)  # other weights: the checkpoint must bring the trained ones back
    fit(*model, batches(1), STEPS, SETTINGS, True, "joint", strategy, folder)
    return weights_of(*model)


if __name__ == "__main__":
    load_architectures()
    strategy = make_strategy("mirrored")
    assert strategy.num_replicas_in_sync == 2, strategy.num_replicas_in_sync
    result, mirrored = compare(strategy)
    result["resume_gap"] = gap(resumed(strategy, sys.argv[1]), mirrored)
    print(json.dumps(result))
