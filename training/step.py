"""One training update: the losses (cross-entropy per decoder, the alignment of thoughts), thought
noise, the learning-rate schedule, and the compiled single-device step. The data-parallel step
(`distribute`) reuses every piece of it."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol

import keras
import numpy as np
import tensorflow as tf

from plugmt.corpora.batches import Batch
from plugmt.decoders.search import greedy_search
from plugmt.errors import PlugmtError
from plugmt.layers.losses import alignment_loss, masked_cross_entropy
from plugmt.thought import BOS_ID, MAX_DECODE_LEN, Thought
from plugmt.training.settings import (
    DECAYS,
    TrainSettings,
    check_schedule,
    per_slot_refusal,
    slot_diversity_refusal,
)


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


def aligned_rows(thought: Thought, per_slot: bool = False) -> tf.Tensor:
    """What the alignment term compares, one row per sentence: the pooled thought [B, D'], or with
    `per_slot` every slot side by side [B, K*D] (a `slots` thought only: slot k answers the same
    learned query in every language, so slot k of one language is held to slot k of the other)."""
    if not per_slot:
        return thought.pooled()
    if thought.kind != "slots":
        raise PlugmtError(per_slot_refusal(f"a {thought.kind!r} thought"))
    return thought.whole()


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


# train.agreement's greedy output is cut at this many tokens per token of the longest source, plus
# the slack (a decoder early in training may never end a sentence; the pivot's outputs fit well inside)
AGREEMENT_RATIO = 2
AGREEMENT_SLACK = 16


def agreement_loss(
    decoders: Sequence[Any],
    thought: Thought,
    source: tf.Tensor,
    agree: tf.Tensor,
    cross_entropy: Callable[[tf.Tensor, tf.Tensor, float], tf.Tensor] = masked_cross_entropy,
) -> tf.Tensor:
    """The agreement term (after Al-Shedivat & Parikh 2019, "Consistency by Agreement in Zero-Shot
    Neural Machine Translation"): decoder `agree[0]` reads the thought of source `agree[1]` (a
    direction it is trained on) greedily, and its cross-entropy on that output reading the thought
    of source `agree[2]` (a direction nothing trains) is the term: a zero-shot direction held to its
    pivot's output, without parallel text.

    Only the encoder learns from it: the greedy output is a constant, and the decoder reads the
    student's thought with its weights held (a `keras.StatelessScope` maps each to a gradient-free
    copy), so the encoder is taught to make thoughts the decoders already read, and no decoder is
    trained on a language it is not trained from.

    `thought` holds the K sources' thoughts side by side ([K*B, ...] rows), `source` their ids
    [K, B, S]; `agree[0]` = -1: no such decoder in this batch, the term is 0.
    """
    sources = tf.shape(source)[0]
    teacher = _select(thought, agree[1], sources).map(tf.stop_gradient)
    student = _select(thought, agree[2], sources)
    teacher_ids = tf.gather(source, agree[1])
    words = tf.reduce_max(tf.reduce_sum(tf.cast(tf.not_equal(teacher_ids, 0), tf.int32), axis=1))
    cap = AGREEMENT_RATIO * words + AGREEMENT_SLACK

    def branch(decoder: Any) -> Callable[[], tf.Tensor]:
        def taught() -> tf.Tensor:
            longest = tf.minimum(cap, getattr(decoder.config, "max_len", MAX_DECODE_LEN))
            ids = tf.stop_gradient(greedy_search(decoder, teacher, longest, teacher_ids))
            bos = tf.fill([tf.shape(ids)[0], 1], BOS_ID)
            held = [(w, tf.stop_gradient(w.value)) for w in decoder.weights]
            with keras.StatelessScope(state_mapping=held):
                logits = decoder.teacher_forced(tf.concat([bos, ids[:, :-1]], axis=1), student, training=True)
            return tf.cast(cross_entropy(ids, logits, 0.0), tf.float32)

        return taught

    return tf.switch_case(agree[0], [branch(d) for d in decoders], default=lambda: tf.constant(0.0))


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
        read = _select(thought, source_index[i], sources)
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
