"""Attention building blocks shared by the attention encoders and decoders.

Multi-head attention keeps its key/value projection separate from the attending itself, so a
decoder can project each new position once and cache it; layers are pre-norm (Xiong et al. 2020),
which trains without a learning-rate warm-up. Registers nothing: it is imported by architectures.
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from plugmt.errors import PlugmtError
from plugmt.thought import PAD_ID

POSITION_KINDS = ("sinusoidal", "learned")


def check_transformer_sizes(role: str, width: int, heads: int, positions: str) -> None:
    """Refuse, in one line, sizes a transformer cannot be built with."""
    if heads < 1 or width % heads:
        raise PlugmtError(f"{role}.d_model={width} must be a multiple of {role}.heads={heads}")
    if positions not in POSITION_KINDS:
        raise PlugmtError(f"{role}.positions={positions!r}: use one of {', '.join(POSITION_KINDS)}")


def sinusoidal(positions: tf.Tensor, width: int) -> tf.Tensor:
    """Int positions [...] -> [..., width] (Vaswani et al. 2017): any length, no weights to store."""
    half = width // 2
    rates = tf.exp(-math.log(10000.0) * tf.range(half, dtype=tf.float32) / max(half, 1))
    angles = tf.cast(positions, tf.float32)[..., None] * rates
    table = tf.concat([tf.sin(angles), tf.cos(angles)], axis=-1)
    if width % 2:
        table = tf.concat([table, tf.zeros_like(angles[..., :1])], axis=-1)
    return table


def softmax(scores: tf.Tensor, axis: int) -> tf.Tensor:
    """Softmax computed in float32 and returned in the scores' dtype (bfloat16 training keeps the
    normalisation exact: train.precision)."""
    return tf.cast(tf.nn.softmax(tf.cast(scores, tf.float32), axis=axis), scores.dtype)


class Positions(keras.layers.Layer):
    """Position vectors, sinusoidal or learned (a table of `max_len` rows)."""

    def __init__(self, kind: str, width: int, max_len: int, name: str = "positions") -> None:
        super().__init__(name=name)
        self.kind = kind
        self.width = int(width)
        self.max_len = int(max_len)
        self.table = keras.layers.Embedding(max_len, width, name="table") if kind == "learned" else None

    def vectors(self, positions: tf.Tensor) -> tf.Tensor:
        if self.table is None:
            return tf.cast(sinusoidal(positions, self.width), self.compute_dtype)
        tf.debugging.assert_less(
            tf.reduce_max(positions),
            self.max_len,
            message=f"a sentence is longer than max_len={self.max_len} learned positions; raise max_len",
        )
        return self.table(positions)


def padding_mask(mask: tf.Tensor | None) -> tf.Tensor | None:
    """A [B, T] key mask (True = a real position) shaped to broadcast over [B, heads, queries, T]."""
    return None if mask is None else tf.cast(mask, tf.bool)[:, None, None, :]


def causal_mask(length: tf.Tensor) -> tf.Tensor:
    """[1, 1, T, T]: query i sees keys 0..i."""
    ones = tf.ones([length, length], dtype=tf.bool)
    return tf.linalg.band_part(ones, -1, 0)[None, None]


class MultiHeadAttention(keras.layers.Layer):
    """Scaled dot-product attention over `heads` heads; keys and values are projected separately."""

    def __init__(self, width: int, heads: int, name: str) -> None:
        super().__init__(name=name)
        self.heads = int(heads)
        self.depth = int(width) // self.heads
        self.query = keras.layers.Dense(width, name="query")
        self.key = keras.layers.Dense(width, name="key")
        self.value = keras.layers.Dense(width, name="value")
        self.combine = keras.layers.Dense(width, name="combine")

    def split(self, x: tf.Tensor) -> tf.Tensor:
        """[B, T, heads*depth] -> [B, heads, T, depth]."""
        shape = tf.shape(x)
        x = tf.reshape(x, [shape[0], shape[1], self.heads, self.depth])
        return tf.transpose(x, [0, 2, 1, 3])

    def keys_values(self, source: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Projected keys and values [B, heads, T, depth] of `source` [B, T, D_source]."""
        return self.split(self.key(source)), self.split(self.value(source))

    def attend(
        self, x: tf.Tensor, keys: tf.Tensor, values: tf.Tensor, mask: tf.Tensor | None = None
    ) -> tf.Tensor:
        """Queries from `x` [B, Tq, D] over projected keys/values; `mask` is True where visible."""
        queries = self.split(self.query(x)) / math.sqrt(self.depth)
        scores = tf.matmul(queries, keys, transpose_b=True)
        if mask is not None:
            scores = tf.where(mask, scores, tf.constant(-1e9, scores.dtype))
        mixed = tf.matmul(softmax(scores, axis=-1), values)
        shape = tf.shape(mixed)
        mixed = tf.reshape(tf.transpose(mixed, [0, 2, 1, 3]), [shape[0], shape[2], self.heads * self.depth])
        return self.combine(mixed)


class FeedForward(keras.layers.Layer):
    def __init__(self, width: int, hidden: int, name: str = "feed_forward") -> None:
        super().__init__(name=name)
        self.inner = keras.layers.Dense(hidden, activation="relu", name="inner")
        self.outer = keras.layers.Dense(width, name="outer")

    def transform(self, x: tf.Tensor) -> tf.Tensor:
        return self.outer(self.inner(x))


class EncoderLayer(keras.layers.Layer):
    """Pre-norm self-attention + feed-forward.

    `residual=False` drops the residual connection around self-attention (Liu et al. 2021): the
    layer's output then no longer carries each token's position straight through, which makes the
    states above it less tied to source word order and helps zero-shot directions.
    """

    def __init__(
        self, width: int, heads: int, ffn: int, dropout: float, residual: bool = True, name: str = "layer"
    ) -> None:
        super().__init__(name=name)
        self.residual = residual
        self.attention_norm = keras.layers.LayerNormalization(epsilon=1e-6, name="attention_norm")
        self.attention = MultiHeadAttention(width, heads, name="self_attention")
        self.ffn_norm = keras.layers.LayerNormalization(epsilon=1e-6, name="ffn_norm")
        self.ffn = FeedForward(width, ffn)
        self.dropout = keras.layers.Dropout(dropout)

    def transform(self, x: tf.Tensor, mask: tf.Tensor | None, training: bool) -> tf.Tensor:
        normed = self.attention_norm(x)
        keys, values = self.attention.keys_values(normed)
        attended = self.dropout(self.attention.attend(normed, keys, values, mask), training=training)
        x = x + attended if self.residual else attended
        return x + self.dropout(self.ffn.transform(self.ffn_norm(x)), training=training)


class TransformerStack(keras.layers.Layer):
    """Token embedding + positions + pre-norm encoder layers + a final norm: ids [B, T] -> [B, T, D]."""

    def __init__(
        self,
        vocab_size: int,
        width: int,
        heads: int,
        layers: int,
        ffn: int,
        dropout: float,
        positions: str,
        max_len: int,
        residual_dropped_at: int | None = None,
        name: str = "transformer",
    ) -> None:
        super().__init__(name=name)
        self.width = int(width)
        self.embedding = keras.layers.Embedding(vocab_size, width, name="embedding")
        self.positions = Positions(positions, width, max_len)
        self.blocks = [
            EncoderLayer(width, heads, ffn, dropout, residual=i != residual_dropped_at, name=f"layer_{i}")
            for i in range(layers)
        ]
        self.final_norm = keras.layers.LayerNormalization(epsilon=1e-6, name="final_norm")
        self.dropout = keras.layers.Dropout(dropout)

    def states(self, ids: tf.Tensor, training: bool = False) -> tf.Tensor:
        x = self.embedding(ids) * math.sqrt(self.width)
        x = x + self.positions.vectors(tf.range(tf.shape(ids)[1]))[None]
        x = self.dropout(x, training=training)
        mask = padding_mask(tf.not_equal(ids, PAD_ID))
        for block in self.blocks:
            x = block.transform(x, mask, training)
        return self.final_norm(x)
