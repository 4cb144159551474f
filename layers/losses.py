"""The token loss shared by training (training/step.py) and validation (inference.translator.Pipeline.loss).

Beside the layers both halves use, so inference code can score a reference without importing
training.
"""

from __future__ import annotations

import tensorflow as tf

from plugmt.thought import PAD_ID


def masked_cross_entropy(target: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """Mean cross-entropy per target token, padding (id 0) left out."""
    mask = tf.cast(tf.not_equal(target, PAD_ID), logits.dtype)
    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=target, logits=logits)
    return tf.reduce_sum(losses * mask) / tf.maximum(tf.reduce_sum(mask), 1.0)
