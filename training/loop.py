"""The training loop around the compiled step: progress, validation, checkpoints, budgets."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from plugmt.corpora.batches import MultiTargetBatches
from plugmt.errors import PlugmtError
from plugmt.progress import eta
from plugmt.training.checkpoints import TrainingCheckpoint, remove_run
from plugmt.training.distribute import DistributedTrainer
from plugmt.training.monitor import Monitor
from plugmt.training.settings import TrainSettings, agreement_refusal
from plugmt.training.step import StepTrainer, Trainer

log = logging.getLogger("plugmt.train")


@dataclass
class _Window:
    """Loss, alignment and throughput since the last progress line."""

    started: float
    pairs: int = 0
    loss: float = 0.0
    alignment: float = 0.0
    steps: int = 0

    def add(self, pairs: int, loss: float, alignment: float) -> None:
        self.pairs += pairs
        self.loss += loss
        self.alignment += alignment
        self.steps += 1

    def rate(self) -> float:
        return self.pairs / max(time.perf_counter() - self.started, 1e-9)

    def sums(self) -> dict[str, float]:
        """What a checkpoint keeps of it, so a resumed run logs the same averages."""
        return {"loss": self.loss, "alignment": self.alignment, "steps": self.steps}


def _make_trainer(
    encoder: Any,
    decoders: Mapping[str, Any],
    settings: TrainSettings,
    train_encoder: bool,
    sources: int,
    strategy: tf.distribute.Strategy | None,
) -> Trainer | DistributedTrainer:
    if strategy is None:
        return Trainer(encoder, decoders, settings, train_encoder, sources)
    if settings.agreement > 0 and train_encoder:
        raise PlugmtError(agreement_refusal(str(settings.strategy)))
    return DistributedTrainer(strategy, encoder, decoders, settings, train_encoder, sources)


def _checkpoint(
    run_dir: Path | None,
    settings: TrainSettings,
    encoder: Any,
    decoders: Mapping[str, Any],
    trainer: StepTrainer,
) -> TrainingCheckpoint | None:
    if run_dir is None or settings.checkpoint_every <= 0:
        return None
    if not settings.resume:
        remove_run(run_dir)  # a fresh start: no older checkpoint may outlive it
    layers = {"encoder": encoder, **{f"decoder-{lang}": d for lang, d in decoders.items()}}
    return TrainingCheckpoint(run_dir, layers, trainer.optimizers, settings.checkpoint_every)


def _left(max_seconds: float | None, before: float) -> float | None:
    """This attempt's share of the stage's time cap."""
    return None if max_seconds is None else max_seconds - before


def _best_name(monitor_state: Mapping[str, Any]) -> str:
    """The file of the best validated weights a checkpoint's monitor state refers to."""
    return f"best-step-{monitor_state['history'][monitor_state['best']]['step']}"


def _recent_name(monitor_state: Mapping[str, Any]) -> str:
    """The file of the last validated weights (train.average_last) a checkpoint's state refers to."""
    return f"recent-to-step-{monitor_state['recent'][-1]}"


def fit(
    encoder: Any,
    decoders: Mapping[str, Any],
    batches: MultiTargetBatches,
    steps: int,
    settings: TrainSettings,
    train_encoder: bool,
    stage: str,
    strategy: tf.distribute.Strategy | None = None,
    run_dir: Path | None = None,
    monitor: Monitor | None = None,
    trainer: StepTrainer | None = None,
) -> dict[str, Any]:
    """Run `steps` updates (or until train.max_seconds), logging loss and throughput.

    With a `monitor`, the validation split is scored every train.validate_every steps and training
    stops once train.patience validations brought no gain (the monitor keeps the best weights).

    With a `run_dir` and train.checkpoint_every > 0, the whole training state is checkpointed there
    every so many steps and after the last, and a run finding a checkpoint (train.resume) goes on
    from it: the same batches, the same updates, the same loss history as if never stopped.
    """
    sources = 2 if batches.two_sources else 1
    settings = dataclasses.replace(settings, steps=steps)  # the schedule's horizon (train.decay)
    if trainer is None:  # a stage with its own update (the student stage) passes it
        trainer = _make_trainer(encoder, decoders, settings, train_encoder, sources, strategy)
    checkpoint = _checkpoint(run_dir, settings, encoder, decoders, trainer)
    done, losses, before = 0, [], 0.0
    window = _Window(time.perf_counter())
    restored = checkpoint.restore() if checkpoint is not None and settings.resume else None
    if restored is not None:
        done, state = restored
        batches.restore(state["batches"])
        losses, before = list(state["losses"]), float(state["seconds"])
        window.loss, window.alignment, window.steps = (
            state["window"][k] for k in ("loss", "alignment", "steps")
        )
        if monitor is not None and state.get("monitor"):
            kept = state["monitor"]
            arrays = checkpoint.load_arrays(_best_name(kept)) if kept["best"] is not None else []
            recent = checkpoint.load_arrays(_recent_name(kept)) if kept.get("recent") else []
            monitor.restore(kept, arrays, recent)
        log.info(f"resuming {stage} from step {done}")
    started = time.perf_counter() - before
    first = done  # the pace (for the ETA) is this attempt's: a resumed run's steps before it are free

    def save(step: int) -> None:
        state = {
            "batches": batches.state(),
            "losses": losses,
            "window": window.sums(),
            "seconds": time.perf_counter() - started,
        }
        named = {}
        if monitor is not None:
            state["monitor"] = monitor.state()
            if monitor.best is not None:  # written before the checkpoint that names them
                named[_best_name(state["monitor"])] = monitor.best_arrays()
            if state["monitor"]["recent"]:
                named[_recent_name(state["monitor"])] = monitor.recent_arrays()
        checkpoint.save_arrays(named)
        checkpoint.save(step, state)

    stopped = "steps"
    for done in range(done + 1, steps + 1):  # noqa: B020 (resumes from the restored step)
        batch = next(batches)
        step_losses, alignment = trainer(batch)
        active = [batches.decoders.index(target) for _, target in batch.directions]
        window.add(batch.sources.shape[1] * len(active), float(np.mean(step_losses[active])), alignment)
        elapsed = time.perf_counter() - started
        over_time = settings.max_seconds is not None and elapsed > settings.max_seconds
        if done % settings.log_every == 0 or done == steps or over_time:
            losses.append(round(window.loss / window.steps, 4))
            second = trainer.second_loss  # the student stage: its distance
            shown = batches.two_sources or second != "align"
            align_text = f" · {second} {window.alignment / window.steps:.4f}" if shown else ""
            log.info(
                f"{stage} step {done}/{steps} · loss {losses[-1]:.4f}{align_text}"
                f" · {window.rate():,.0f} pairs/s · {elapsed:.0f}s"
                f"{eta(done - first, steps - first, elapsed - before, _left(settings.max_seconds, before))}"
            )
            if monitor is not None:
                curves = {"train/loss": losses[-1], "train/pairs_per_s": window.rate()}
                if shown:
                    curves[f"train/{'alignment' if second == 'align' else second}"] = (
                        window.alignment / window.steps
                    )
                monitor.scalars(done, curves)
            window = _Window(time.perf_counter())
        patience_spent = monitor is not None and monitor.due(done) and monitor.check(done)
        if checkpoint is not None and (checkpoint.due(done) or done == steps or over_time):
            save(done)
        if patience_spent:
            stopped = "converged"
            log.info(f"{stage}: stopping at step {done}, no gain in {monitor.patience} validations")
            break
        if over_time:
            stopped = "time"
            log.info(f"{stage}: stopping at step {done}, train.max_seconds={settings.max_seconds} reached")
            break
    if checkpoint is not None and checkpoint.write_seconds:
        log.info(
            f"{stage}: {len(checkpoint.write_seconds)} checkpoints written to {run_dir}, "
            f"{np.mean(checkpoint.write_seconds):.3f}s each"
        )
    converged = _converged(stage, stopped, settings, monitor)
    return {
        "steps": done,
        "seconds": round(time.perf_counter() - started, 1),
        "loss": losses,
        "loss_every": settings.log_every,  # losses[i] is the mean over the steps up to (i + 1) * this
        "stopped": stopped,
        "converged": converged,
    }


def _converged(stage: str, stopped: str, settings: TrainSettings, monitor: Monitor | None) -> bool | None:
    """Whether the stage ended on a validation plateau (or a perfect validation score); says loudly
    when a budget (train.max_seconds, train.epochs/steps) cut it short instead. None: not validated."""
    if monitor is None:
        return None
    if stopped == "converged":
        return True
    best = monitor.best
    if best is not None and min(best.exact.values(), default=0.0) >= 1.0:
        return True  # nothing left to gain on the validation sample
    budget = f"train.max_seconds={settings.max_seconds}" if stopped == "time" else "train.epochs/steps"
    score = "never validated" if best is None else f"best {best.summary()} at step {best.step}"
    log.warning(
        f"WARNING: {stage} stopped by its budget ({budget}) before validation converged ({score}); "
        f"its modules may not hold on another seed or machine: raise {budget.split('=')[0]}"
    )
    return False
