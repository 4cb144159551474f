"""The token loss shared by training (training/step.py) and validation (inference.translator.Pipeline.loss),
and the alignment term shared by training and the thought diagnostics (evaluation.diagnostics).

Beside the layers both halves use, so inference and evaluation code can score without importing
training.
"""

from __future__ import annotations

import tensorflow as tf

from plugmt.thought import PAD_ID


def token_losses(target: tf.Tensor, logits: tf.Tensor, smoothing: float = 0.0) -> tf.Tensor:
    """Cross-entropy of every target token [B, T], in float32 whatever the logits' precision.

    `smoothing` = ε (train.label_smoothing, Szegedy et al. 2016): the target distribution puts
    1 - ε on the reference token and ε spread evenly over the whole vocabulary, so the model is not
    pushed to ever larger logits (the loss then never reaches 0; validation loss stays unsmoothed).
    """
    logits = tf.cast(logits, tf.float32)
    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=target, logits=logits)
    if smoothing > 0:
        uniform = -tf.reduce_mean(tf.nn.log_softmax(logits, axis=-1), axis=-1)
        losses = (1.0 - smoothing) * losses + smoothing * uniform
    return losses


def masked_cross_entropy(target: tf.Tensor, logits: tf.Tensor, smoothing: float = 0.0) -> tf.Tensor:
    """Mean cross-entropy per target token, padding (id 0) left out."""
    mask = tf.cast(tf.not_equal(target, PAD_ID), tf.float32)
    losses = token_losses(target, logits, smoothing)
    return tf.reduce_sum(losses * mask) / tf.maximum(tf.reduce_sum(mask), 1.0)


def alignment_loss(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """Squared distance between thoughts of the same meanings, relative to their spread.

    A plain MSE is minimised by collapsing every thought onto one point (and a decoder then reads
    nothing): dividing by the batch variance makes collapse pointless, so only the language-specific
    part of a thought is pulled away. 0 for identical thoughts; about 2 for unrelated ones.
    """
    both = tf.concat([a, b], axis=0)
    spread = tf.reduce_mean(tf.math.reduce_variance(both, axis=0))
    return tf.reduce_mean(tf.square(a - b)) / (spread + 1e-6)
