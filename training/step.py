"""One training update: the losses (cross-entropy per decoder, the alignment of thoughts, the
terms of `thoughts`), the learning-rate schedule, and the compiled single-device step. The data-parallel step
(`distribute`) reuses every piece of it."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol

import keras
import numpy as np
import tensorflow as tf

from plugmt.corpora.batches import Batch
from plugmt.errors import PlugmtError
from plugmt.layers.losses import alignment_loss, masked_cross_entropy
from plugmt.training.settings import (
    DECAYS,
    TrainSettings,
    check_schedule,
    slot_diversity_refusal,
)
from plugmt.training.thoughts import agreement_loss, aligned_rows, perturb, select_source


class WarmupDecay(keras.optimizers.schedules.LearningRateSchedule):
    """The rate rises linearly over the first `warmup` updates (Transformers trained from scratch at
    full rate often diverge in their first few hundred), then either falls along a cosine to `final`
    x rate at update `total` (`kind="cosine"`, with `total` > 0: the last updates refine instead of
    jumping around), or falls as rate x sqrt(warmup / step) (`kind="inverse_sqrt"`, Vaswani et al.
    2017: no horizon, so a stage stopped by validation at any step was on the same schedule)."""

    def __init__(
        self, rate: float, warmup: int = 0, total: int = 0, final: float = 1.0, kind: str = "cosine"
    ) -> None:
        self.rate = float(rate)
        self.warmup = int(warmup)
        self.total = int(total)
        self.final = float(final)
        self.kind = str(kind)

    def __call__(self, step: Any) -> Any:
        step = tf.cast(step, tf.float32)
        factor = tf.constant(1.0)
        if self.warmup > 0:
            factor = tf.minimum(1.0, (step + 1.0) / float(self.warmup))
        if self.kind == "inverse_sqrt" and self.warmup > 0:
            factor *= tf.minimum(1.0, tf.sqrt(float(self.warmup) / (step + 1.0)))
        elif self.total > 0 and self.final != 1.0:
            progress = tf.clip_by_value(
                (step - self.warmup) / float(max(self.total - self.warmup, 1)), 0.0, 1.0
            )
            factor *= self.final + (1.0 - self.final) * 0.5 * (1.0 + tf.cos(np.pi * progress))
        return self.rate * factor

    def get_config(self) -> dict[str, Any]:
        return {
            "rate": self.rate,
            "warmup": self.warmup,
            "total": self.total,
            "final": self.final,
            "kind": self.kind,
        }


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
    cross_entropy: Callable[[tf.Tensor, tf.Tensor, float], tf.Tensor] = masked_cross_entropy,
    align_fn: Callable[[tf.Tensor, tf.Tensor], tf.Tensor] = alignment_loss,
    agree: tf.Tensor | None = None,
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """One step's forward pass: (loss per decoder, alignment, total to differentiate).

    Both source languages go through the encoder as one [K*B, S] pass; each decoder reads the thought
    its direction needs. A data-parallel replica passes `rows` (its slice of the batch rows along an
    axis) and loss functions normalised by global counts; the single-device step passes none.
    """
    rows = rows or (lambda x, axis: x)
    source = rows(source, 1)
    flat = tf.reshape(source, [-1, tf.shape(source)[2]])
    diversity = train_encoder and settings.slot_diversity > 0
    if diversity:
        thought, overlap = encoder.encode_with_overlap(flat, training=True)
        if overlap is None:
            raise PlugmtError(slot_diversity_refusal(f"a {thought.kind!r} thought"))
    else:
        thought = encoder.encode(flat, training=train_encoder)
    losses = []
    for i, decoder in enumerate(decoders.values()):
        read = select_source(thought, source_index[i], sources)
        if settings.thought_noise > 0:
            step = tf.cast(noise_step if noise_step is not None else 0, tf.int64)
            read = perturb(read, settings.thought_noise, tf.stack([step, tf.constant(i + 1, tf.int64)]))
        logits = decoder.teacher_forced(rows(target_in[i], 0), read, training=True)
        losses.append(cross_entropy(rows(target_out[i], 0), logits, settings.label_smoothing))
    losses = tf.stack(losses)
    alignment = tf.constant(0.0)
    if train_encoder and settings.align_weight > 0 and sources > 1:
        # Same meanings, two languages: pull the two thoughts together so a decoder cannot tell
        # which language it reads (Arivazhagan et al. 2019).
        vectors = aligned_rows(thought, settings.align_per_slot)
        compared = tf.reshape(vectors, [sources, tf.shape(source)[1], -1])
        alignment = align_fn(compared[0], compared[1])
    total = tf.reduce_sum(losses) + settings.align_weight * alignment
    if diversity:
        total += settings.slot_diversity * tf.reduce_mean(overlap)
    if agree is not None and train_encoder and settings.agreement > 0 and sources > 1:
        total += settings.agreement * agreement_loss(
            list(decoders.values()), thought, source, agree, cross_entropy
        )
    return losses, alignment, total


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


def per_group(
    groups: Sequence[tuple[Any, list[Any]]], grads: Sequence[Any]
) -> Iterator[tuple[Any, list[Any], Any]]:
    """(optimizer, variables, their gradients) for each group `losses_and_gradients` returned, its
    flat gradient list cut back into the groups' parts."""
    start = 0
    for optimizer, variables in groups:
        yield optimizer, variables, grads[start : start + len(variables)]
        start += len(variables)


def learning_rate(settings: TrainSettings) -> Any:
    """train.learning_rate, risen to linearly over train.warmup_steps when those are set; with
    train.decay=cosine, fallen to train.final_rate x learning_rate by the stage's last step
    (train.steps: `fit` sets it to the stage's total); with train.decay=inverse_sqrt, falling as
    1/sqrt(step) once warm-up is over."""
    if settings.decay not in DECAYS:
        raise PlugmtError(f"train.decay={settings.decay!r} is not one of: {', '.join(DECAYS)}")
    if settings.decay == "inverse_sqrt":
        check_schedule(settings.decay, settings.warmup_steps)
        return WarmupDecay(settings.learning_rate, settings.warmup_steps, kind="inverse_sqrt")
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


class StepTrainer(Protocol):
    """What `fit` drives: one update per batch, the optimizers a checkpoint keeps, and the name of
    the term shown beside the loss in progress lines ("align" for the joint and plug-in stages)."""

    optimizers: Mapping[str, keras.optimizers.Optimizer]
    second_loss: str

    def __call__(self, batch: Batch) -> tuple[np.ndarray, float]: ...


class Trainer:
    """One compiled update for an encoder and its decoders, whatever the batch's lengths.

    Both source languages of a batch go through the encoder as one [K*B, S] pass; each decoder reads
    the thought its direction needs; the losses add up, plus the alignment term when two sources are
    read and the encoder is learning.
    """

    second_loss = "align"

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
        # train.agreement: the batch's (decoder, teacher, student) triple is a fifth input
        self.agreeing = train_encoder and settings.agreement > 0 and sources > 1
        if self.agreeing:
            signature.append(tf.TensorSpec([3], tf.int32))

        @tf.function(input_signature=signature, jit_compile=settings.jit_compile)
        def step(source, target_in, target_out, source_index, agree=None):
            losses, alignment, groups, grads = losses_and_gradients(
                encoder,
                self.decoders,
                self.optimizers,
                settings,
                train_encoder,
                sources,
                (source, target_in, target_out, source_index),
                agree=agree,
            )
            for optimizer, variables, chunk in per_group(groups, grads):
                optimizer.apply_gradients(zip(chunk, variables, strict=True))
            return losses, alignment

        self.step = step

    def __call__(self, batch: Batch) -> tuple[np.ndarray, float]:
        inputs = [batch.sources, batch.target_in, batch.target_out, batch.source_index]
        if self.agreeing:
            inputs.append(np.asarray(batch.agree, dtype=np.int32))
        losses, alignment = self.step(*inputs)
        return losses.numpy(), float(alignment)
