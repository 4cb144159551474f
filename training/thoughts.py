"""What the joint step does with thoughts besides decoding them: the rows the alignment term compares,
thought noise, one source's thoughts out of a batch's, and the agreement term (train.agreement)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import keras
import tensorflow as tf

from plugmt.decoders.search import greedy_search, length_cap
from plugmt.errors import PlugmtError
from plugmt.layers.losses import masked_cross_entropy
from plugmt.thought import BOS_ID, MAX_DECODE_LEN, Thought
from plugmt.training.settings import per_slot_refusal


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


def select_source(thought: Thought, index: tf.Tensor, sources: int) -> Thought:
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
    teacher = select_source(thought, agree[1], sources).map(tf.stop_gradient)
    student = select_source(thought, agree[2], sources)
    teacher_ids = tf.gather(source, agree[1])

    def branch(decoder: Any) -> Callable[[], tf.Tensor]:
        def taught() -> tf.Tensor:
            most = getattr(decoder.config, "max_len", MAX_DECODE_LEN)  # a learned position table's rows
            longest = length_cap(most, teacher_ids, AGREEMENT_RATIO, AGREEMENT_SLACK)
            ids = tf.stop_gradient(greedy_search(decoder, teacher, longest, teacher_ids))
            bos = tf.fill([tf.shape(ids)[0], 1], BOS_ID)
            held = [(w, tf.stop_gradient(w.value)) for w in decoder.weights]
            with keras.StatelessScope(state_mapping=held):
                logits = decoder.teacher_forced(tf.concat([bos, ids[:, :-1]], axis=1), student, training=True)
            return tf.cast(cross_entropy(ids, logits, 0.0), tf.float32)

        return taught

    return tf.switch_case(agree[0], [branch(d) for d in decoders], default=lambda: tf.constant(0.0))
