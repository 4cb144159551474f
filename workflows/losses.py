"""The token loss shared by training (trainer.py) and validation (translator.Pipeline.loss).

Its own module, with nothing of plugmt imported, so inference code can score a reference without
importing the training loop.
"""

from __future__ import annotations

import tensorflow as tf


def masked_cross_entropy(target: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """Mean cross-entropy per target token, padding (id 0) left out."""
    mask = tf.cast(tf.not_equal(target, 0), logits.dtype)
    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=target, logits=logits)
    return tf.reduce_sum(losses * mask) / tf.maximum(tf.reduce_sum(mask), 1.0)
