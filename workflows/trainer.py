"""The training loop: one compiled update for an encoder and its decoders, and the loop around it."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from omegaconf import DictConfig, OmegaConf

from plugmt.corpora.batches import Batch, MultiTargetBatches
from plugmt.encoders.thought import Thought
from plugmt.errors import PlugmtError
from plugmt.workflows.losses import masked_cross_entropy
from plugmt.workflows.monitor import Monitor
from plugmt.workflows.resume import TrainingCheckpoint, remove_run

log = logging.getLogger("plugmt.train")
DECAYS = ("none", "cosine")


@dataclass
class TrainSettings:
    """`conf/train/*.yaml`, typed."""

    mode: str = "joint"
    epochs: float = 0.8
    steps: int | None = None
    batch_size: int = 128
    learning_rate: float = 0.01
    clip_norm: float = 5.0
    align_weight: float = 1.0
    identity_pairs: bool = True
    temperature: float = 1.0
    jit_compile: bool = False
    log_every: int = 100
    eval_items: int = 200
    max_seconds: float | None = None
    checkpoint_every: int = 200
    resume: bool = True
    strategy: str = "none"
    warmup_steps: int = 0
    validate_every: int | None = None
    patience: int | None = None
    tensorboard: str | None = None
    thought_noise: float = 0.0
    select: str = "loss"
    min_delta: float = 0.01
    decay: str = "none"
    final_rate: float = 0.1


def train_settings(cfg: DictConfig) -> TrainSettings:
    from omegaconf.errors import OmegaConfBaseException

    try:
        merged = OmegaConf.merge(OmegaConf.structured(TrainSettings), cfg.train)
    except OmegaConfBaseException as error:
        why = str(error.msg).strip().splitlines()[0]
        raise PlugmtError(f"train.{error.full_key}: {why}") from None
    settings = OmegaConf.to_object(merged)
    from plugmt.workflows.distribute import STRATEGIES

    if settings.strategy not in STRATEGIES:
        raise PlugmtError(f"train.strategy={settings.strategy!r} is not one of: {', '.join(STRATEGIES)}")
    return settings


# --------------------------------------------------------------------------- the loop


class WarmupDecay(keras.optimizers.schedules.LearningRateSchedule):
    """The rate rises linearly over the first `warmup` updates (Transformers trained from scratch at
    full rate often diverge in their first few hundred), then, with `total` > 0, falls along a cosine
    to `final` x rate at update `total`: the last updates refine instead of jumping around."""

    def __init__(self, rate: float, warmup: int = 0, total: int = 0, final: float = 1.0) -> None:
        self.rate = float(rate)
        self.warmup = int(warmup)
        self.total = int(total)
        self.final = float(final)

    def __call__(self, step: Any) -> Any:
        step = tf.cast(step, tf.float32)
        factor = tf.constant(1.0)
        if self.warmup > 0:
            factor = tf.minimum(1.0, (step + 1.0) / float(self.warmup))
        if self.total > 0 and self.final != 1.0:
            progress = tf.clip_by_value(
                (step - self.warmup) / float(max(self.total - self.warmup, 1)), 0.0, 1.0
            )
            factor *= self.final + (1.0 - self.final) * 0.5 * (1.0 + tf.cos(np.pi * progress))
        return self.rate * factor

    def get_config(self) -> dict[str, Any]:
        return {"rate": self.rate, "warmup": self.warmup, "total": self.total, "final": self.final}


def alignment_loss(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """Squared distance between thoughts of the same meanings, relative to their spread.

    A plain MSE is minimised by collapsing every thought onto one point (and a decoder then reads
    nothing): dividing by the batch variance makes collapse pointless, so only the language-specific
    part of a thought is pulled away. 0 for identical thoughts; about 2 for unrelated ones.
    """
    both = tf.concat([a, b], axis=0)
    spread = tf.reduce_mean(tf.math.reduce_variance(both, axis=0))
    return tf.reduce_mean(tf.square(a - b)) / (spread + 1e-6)


def perturb(thought: Thought, scale: float, seed: tf.Tensor) -> Thought:
    """The thought with Gaussian noise of `scale` times each tensor's RMS added (masks untouched).

    A decoder trained on noisy thoughts reads a neighbourhood of each thought, not one point, so the
    small language-specific offsets between thoughts of one meaning in two languages do not derail it:
    what lets a decoder trained on pt thoughts read en, fr and de ones (train.thought_noise).

    The noise is a pure function of `seed` (stateless), so a resumed run draws what an unbroken one
    would have drawn.
    """

    def noisy(x: tf.Tensor, k: int) -> tf.Tensor:
        rms = tf.stop_gradient(tf.sqrt(tf.reduce_mean(tf.square(x)) + 1e-12))
        draw = tf.random.stateless_normal(
            tf.shape(x), seed=seed + tf.constant([0, 1000 * k], tf.int64), dtype=x.dtype
        )
        return x + scale * rms * draw

    return Thought(
        kind=thought.kind,
        states=tuple(noisy(s, k) for k, s in enumerate(thought.states)),
        memory=None if thought.memory is None else noisy(thought.memory, 99),
        mask=thought.mask,
    )


def _select(thought: Thought, index: tf.Tensor, sources: int) -> Thought:
    """The thought of source `index` out of `sources` encoded side by side ([K*B, ...] rows)."""

    def pick(x: tf.Tensor) -> tf.Tensor:
        return tf.gather(tf.reshape(x, tf.concat([[sources, -1], tf.shape(x)[1:]], axis=0)), index)

    return thought.map(pick)


def stage_losses(
    encoder: Any,
    decoders: Mapping[str, Any],
    settings: TrainSettings,
    train_encoder: bool,
    sources: int,
    source: tf.Tensor,
    target_in: Sequence[tf.Tensor],
    target_out: Sequence[tf.Tensor],
    source_index: tf.Tensor,
    rows: Callable[[tf.Tensor, int], tf.Tensor] | None = None,
    noise_step: tf.Tensor | None = None,
    cross_entropy: Callable[[tf.Tensor, tf.Tensor], tf.Tensor] = masked_cross_entropy,
    align_fn: Callable[[tf.Tensor, tf.Tensor], tf.Tensor] = alignment_loss,
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """One step's forward pass: (loss per decoder, alignment, total to differentiate).

    Both source languages go through the encoder as one [K*B, S] pass; each decoder reads the thought
    its direction needs. A data-parallel replica passes `rows` (its slice of the batch rows along an
    axis) and loss functions normalised by global counts; the single-device step passes none.
    """
    rows = rows or (lambda x, axis: x)
    source = rows(source, 1)
    flat = tf.reshape(source, [-1, tf.shape(source)[2]])
    thought = encoder.encode(flat, training=train_encoder)
    losses = []
    for i, decoder in enumerate(decoders.values()):
        read = _select(thought, source_index[i], sources)
        if settings.thought_noise > 0:
            step = tf.cast(noise_step if noise_step is not None else 0, tf.int64)
            read = perturb(read, settings.thought_noise, tf.stack([step, tf.constant(i + 1, tf.int64)]))
        logits = decoder.teacher_forced(rows(target_in[i], 0), read, training=True)
        losses.append(cross_entropy(rows(target_out[i], 0), logits))
    losses = tf.stack(losses)
    alignment = tf.constant(0.0)
    if train_encoder and settings.align_weight > 0 and sources > 1:
        # Same meanings, two languages: pull the two thoughts together so a decoder cannot tell
        # which language it reads (Arivazhagan et al. 2019).
        pooled = tf.reshape(thought.pooled(), [sources, tf.shape(source)[1], -1])
        alignment = align_fn(pooled[0], pooled[1])
    return losses, alignment, tf.reduce_sum(losses) + settings.align_weight * alignment


def losses_and_gradients(
    encoder: Any,
    decoders: Mapping[str, Any],
    optimizers: Mapping[str, Any],
    settings: TrainSettings,
    train_encoder: bool,
    sources: int,
    batch: Sequence[Any],
    **replica: Any,
) -> tuple[tf.Tensor, tf.Tensor, list[tuple[Any, list[Any]]], list[Any]]:
    """`stage_losses` on a batch's tensors and its gradients: (losses, alignment, (optimizer,
    variables) per module that learns — each decoder, then the encoder when it trains — and the
    gradients of those variables in that order). `replica` goes to `stage_losses`."""
    noise_step = next(iter(optimizers.values())).iterations  # the update's number: the noise's seed
    with tf.GradientTape() as tape:
        losses, alignment, total = stage_losses(
            encoder, decoders, settings, train_encoder, sources, *batch, noise_step=noise_step, **replica
        )
    groups = [(optimizers[lang], d.trainable_variables) for lang, d in decoders.items()]
    if train_encoder:
        groups.append((optimizers["encoder"], encoder.trainable_variables))
    grads = tape.gradient(total, [v for _, variables in groups for v in variables])
    return losses, alignment, groups, grads


def learning_rate(settings: TrainSettings) -> Any:
    """train.learning_rate, risen to linearly over train.warmup_steps when those are set and, with
    train.decay=cosine, fallen to train.final_rate x learning_rate by the stage's last step
    (train.steps: `fit` sets it to the stage's total)."""
    if settings.decay not in DECAYS:
        raise PlugmtError(f"train.decay={settings.decay!r} is not one of: {', '.join(DECAYS)}")
    cosine = settings.decay == "cosine" and settings.steps
    if settings.warmup_steps > 0 or cosine:
        total = int(settings.steps) if cosine else 0
        final = float(settings.final_rate) if cosine else 1.0
        return WarmupDecay(settings.learning_rate, settings.warmup_steps, total, final)
    return settings.learning_rate


def step_signature(sources: int, decoders: int) -> list[Any]:
    """The one input signature of a training step (a `Batch`'s tensors): every batch length fits
    it, so the step is traced once."""
    ids = tf.TensorSpec([None, None], tf.int32)
    per_decoder = tuple(ids for _ in range(decoders))
    return [
        tf.TensorSpec([sources, None, None], tf.int32),
        per_decoder,
        per_decoder,
        tf.TensorSpec([decoders], tf.int32),
    ]


class Trainer:
    """One compiled update for an encoder and its decoders, whatever the batch's lengths.

    Both source languages of a batch go through the encoder as one [K*B, S] pass; each decoder reads
    the thought its direction needs; the losses add up, plus the alignment term when two sources are
    read and the encoder is learning.
    """

    def __init__(
        self,
        encoder: Any,
        decoders: Mapping[str, Any],
        settings: TrainSettings,
        train_encoder: bool,
        sources: int,
    ) -> None:
        self.decoders = dict(decoders)

        def adam() -> keras.optimizers.Optimizer:
            return keras.optimizers.Adam(learning_rate(settings), global_clipnorm=settings.clip_norm)

        optimizers = {lang: adam() for lang in self.decoders}
        encoder_optimizer = adam() if train_encoder else None
        # Slots built now, eagerly: variables created inside the first call would make TF trace twice.
        for lang, decoder in self.decoders.items():
            optimizers[lang].build(decoder.trainable_variables)
        if encoder_optimizer is not None:
            encoder_optimizer.build(encoder.trainable_variables)
        # Every optimizer by name (decoders by language), for checkpoints.
        self.optimizers = dict(optimizers)
        if encoder_optimizer is not None:
            self.optimizers["encoder"] = encoder_optimizer
        signature = step_signature(sources, len(self.decoders))

        @tf.function(input_signature=signature, jit_compile=settings.jit_compile)
        def step(source, target_in, target_out, source_index):
            losses, alignment, groups, grads = losses_and_gradients(
                encoder,
                self.decoders,
                self.optimizers,
                settings,
                train_encoder,
                sources,
                (source, target_in, target_out, source_index),
            )
            start = 0
            for optimizer, variables in groups:
                chunk = grads[start : start + len(variables)]
                optimizer.apply_gradients(zip(chunk, variables, strict=True))
                start += len(variables)
            return losses, alignment

        self.step = step

    def __call__(self, batch: Batch) -> tuple[np.ndarray, float]:
        losses, alignment = self.step(batch.sources, batch.target_in, batch.target_out, batch.source_index)
        return losses.numpy(), float(alignment)


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
) -> Any:
    if strategy is None:
        return Trainer(encoder, decoders, settings, train_encoder, sources)
    from plugmt.workflows.distribute import DistributedTrainer

    return DistributedTrainer(strategy, encoder, decoders, settings, train_encoder, sources)


def _checkpoint(
    run_dir: Path | None, settings: TrainSettings, encoder: Any, decoders: Mapping[str, Any], trainer: Any
) -> TrainingCheckpoint | None:
    if run_dir is None or settings.checkpoint_every <= 0:
        return None
    if not settings.resume:
        remove_run(run_dir)  # a fresh start: no older checkpoint may outlive it
    layers = {"encoder": encoder, **{f"decoder-{lang}": d for lang, d in decoders.items()}}
    return TrainingCheckpoint(run_dir, layers, trainer.optimizers, settings.checkpoint_every)


def _best_name(monitor_state: Mapping[str, Any]) -> str:
    """The file of the best validated weights a checkpoint's monitor state refers to."""
    return f"best-step-{monitor_state['history'][monitor_state['best']]['step']}"


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
            best = state["monitor"]["best"]
            arrays = checkpoint.load_arrays(_best_name(state["monitor"])) if best is not None else []
            monitor.restore(state["monitor"], arrays)
        log.info(f"resuming {stage} from step {done}")
    started = time.perf_counter() - before

    def save(step: int) -> None:
        state = {
            "batches": batches.state(),
            "losses": losses,
            "window": window.sums(),
            "seconds": time.perf_counter() - started,
        }
        if monitor is not None:
            state["monitor"] = monitor.state()
            if monitor.best is not None:  # written before the checkpoint that names it
                checkpoint.save_arrays(_best_name(state["monitor"]), monitor.best_arrays())
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
            align_text = f" · align {window.alignment / window.steps:.4f}" if batches.two_sources else ""
            log.info(
                f"{stage} step {done}/{steps} · loss {losses[-1]:.4f}{align_text}"
                f" · {window.rate():,.0f} pairs/s · {elapsed:.0f}s"
            )
            if monitor is not None:
                curves = {"train/loss": losses[-1], "train/pairs_per_s": window.rate()}
                if batches.two_sources:
                    curves["train/alignment"] = window.alignment / window.steps
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
