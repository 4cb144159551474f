"""Resumable training: a stage's full state in a run folder, so a killed run picks up where it was.

A stage's run folder is named by a hash of what defines the stage (store, stage, the settings that
shape training), so re-running the same command finds it and resumes; nothing has to be passed. It
holds tf.train checkpoints (no pickle) of every weight, every optimizer slot, the step counter and,
as one JSON string, the batch stream's RNG state and the loop's loss history. TensorFlow writes a
checkpoint's files first and then swaps the small `checkpoint` index file in atomically, so a kill
during a write leaves the index pointing at the previous, complete checkpoint.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import shutil
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf
from omegaconf import DictConfig, OmegaConf

from plugmt.atomic import atomic_path
from plugmt.errors import PlugmtError
from plugmt.training.settings import TrainSettings

log = logging.getLogger("plugmt.train")

RUNS = ".runs"  # under the store root; hidden, so the store's listings never see it
_IDENTITY_KEYS = ("seed", "data", "encoder", "decoder", "train")
# train.* keys that do not change what a run computes: a TensorBoard folder under Hydra's dated output
# folder (the Multi30k preset's) must not send the same command, run again, to a fresh run folder
_NOT_IDENTITY = ("resume", "tensorboard")


def _train_identity(train: Mapping[str, Any] | None) -> dict[str, Any]:
    """train.* as it defines a run: a key at its TrainSettings default is left out, so a setting added
    to plugmt later (at a default that keeps the old behaviour) leaves a run folder where it was."""
    defaults = {f.name: f.default for f in dataclasses.fields(TrainSettings)}
    return {
        k: v
        for k, v in (train or {}).items()
        if k not in _NOT_IDENTITY and not (k in defaults and defaults[k] == v)
    }


def run_folder(store_root: Path, stage: str, cfg: DictConfig, extra: Mapping[str, Any] | None = None) -> Path:
    """`<store>/.runs/<hash>`: the same command (same store, stage, settings) gives the same folder."""
    resolved = OmegaConf.to_container(cfg, resolve=True)
    identity = {key: resolved.get(key) for key in _IDENTITY_KEYS}
    identity["train"] = _train_identity(identity["train"])
    identity.update(store=str(Path(store_root).expanduser().resolve()), stage=stage, extra=extra or {})
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()
    return Path(store_root).expanduser() / RUNS / f"{stage}-{digest[:16]}"


@contextlib.contextmanager
def _absl_quiet() -> Iterator[None]:
    """TensorFlow's saver logs every write at INFO through absl; a training log has no use for it."""
    logger = logging.getLogger("absl")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _tracked(variables: Sequence[Any]) -> list[Any]:
    """The tf.Variables behind Keras variables, in order: checkpointed by position, like the store."""
    return [getattr(v, "value", v) for v in variables]


class TrainingCheckpoint:
    """Every piece of a stage's training state, saved every `every` steps into `folder`.

    `layers` and `optimizers` are saved by their variables' order (all variables: a layer's seed
    generators ride along with its weights); `extra` is any JSON-able state of the Python side.
    """

    def __init__(
        self,
        folder: Path,
        layers: Mapping[str, Any],
        optimizers: Mapping[str, Any],
        every: int,
        keep: int = 2,
    ) -> None:
        self.folder = Path(folder)
        self.every = int(every)
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.python_state = tf.Variable("{}", dtype=tf.string, trainable=False, name="python_state")
        self.checkpoint = tf.train.Checkpoint(
            layers={name: _tracked(layer.variables) for name, layer in layers.items()},
            optimizers={name: _tracked(opt.variables) for name, opt in optimizers.items()},
            step=self.step,
            python_state=self.python_state,
        )
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(self.folder), max_to_keep=keep)
        self.keep = int(keep)
        self._named: list[set[str]] = []  # the array files each checkpoint names
        self.write_seconds: list[float] = []

    def due(self, step: int) -> bool:
        return self.every > 0 and step % self.every == 0

    def save(self, step: int, state: Mapping[str, Any]) -> None:
        started = time.perf_counter()
        self.step.assign(step)
        self.python_state.assign(json.dumps(state))
        with _absl_quiet():
            self.manager.save(checkpoint_number=step)
        self.write_seconds.append(time.perf_counter() - started)

    def save_arrays(self, named: Mapping[str, Sequence[np.ndarray]]) -> None:
        """Arrays beside the next checkpoint (e.g. the best validated weights), each name written
        whole or not at all, and kept only while one of the last `keep` checkpoints may name them."""
        from plugmt.storage.weights import npz_bytes

        for name, arrays in named.items():
            path = self.folder / f"{name}.npz"
            if not path.exists():
                with atomic_path(path) as temporary:
                    temporary.write_bytes(npz_bytes(list(arrays)))
        self._named.append(set(named))
        wanted = set().union(*self._named[-self.keep :])
        for old in self.folder.glob("*.npz"):
            if old.stem not in wanted:
                old.unlink(missing_ok=True)

    def load_arrays(self, name: str) -> list[np.ndarray]:
        from plugmt.storage.weights import read_npz

        path = self.folder / f"{name}.npz"
        return read_npz(path.read_bytes(), str(path))

    def restore(self) -> tuple[int, dict[str, Any]] | None:
        """(step, Python-side state) of the newest complete checkpoint, or None if there is none."""
        latest = self.manager.latest_checkpoint
        if latest is None:
            return None
        self.checkpoint.restore(latest).assert_existing_objects_matched()
        return int(self.step.numpy()), json.loads(self.python_state.numpy().decode())


@contextlib.contextmanager
def claim_run(folder: Path) -> Iterator[None]:
    """Hold `folder` (a stage's run folder) for this process alone, from before it looks for a
    checkpoint until its modules are stored and the folder is gone.

    Two runs of the same command (same store, stage and settings) would share the folder: both
    would resume from one checkpoint, both store a decoder (twins), and the first to finish would
    delete the folder under the other. The second is refused in one line instead. The lock is a
    `filelock` file beside the folder, removed when the run ends; the lock dies with the process.
    """
    from filelock import FileLock, Timeout

    folder.parent.mkdir(parents=True, exist_ok=True)
    path = folder.parent / f"{folder.name}.lock"
    lock = FileLock(str(path), blocking=False)
    try:
        lock.acquire()
    except Timeout:
        raise PlugmtError(
            f"another run of the same command (same store, stage and settings) is training in "
            f"{folder} right now; wait for it to finish (its modules will be in the store) or give "
            "this run another seed= or store="
        ) from None
    try:
        yield
    finally:
        # Unlinked while still held (filelock re-checks the file after locking, so a run that
        # opened it meanwhile does not lock a deleted file); `.runs` goes once no run is left.
        with contextlib.suppress(OSError):
            path.unlink()
        lock.release()
        with contextlib.suppress(OSError):
            folder.parent.rmdir()


def remove_run(folder: Path | None) -> None:
    """Drop a finished stage's run folder (its modules are in the store now), and `.runs` if empty."""
    if folder is None:
        return
    shutil.rmtree(folder, ignore_errors=True)
    if RUNS not in folder.parts:
        return
    for parent in folder.parents:
        with contextlib.suppress(OSError):  # only if empty: another run may be under way
            parent.rmdir()
        if parent.name == RUNS:
            break
