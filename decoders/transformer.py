"""A pre-norm Transformer decoder: causal self-attention, cross-attention over slots or memory.

`step` keeps each layer's keys and values of the positions decoded so far, [B, heads, t, depth],
growing by one position per step, plus a position counter: search never re-runs the prefix, and a
step's cost grows with the positions filled so far (not with max_len). Beam search reorders these
caches with their hypotheses (`reorder`); the cross-attention keys and values of the thought are
computed once, in `initial_state`, and never copied again (every hypothesis of a sentence reads the
same). Sinusoidal positions have no length limit; with learned positions (a table of `max_len`
rows) the step at the last row can only end the sentence, and training refuses longer targets.
"""

from __future__ import annotations

import math
from typing import Any

import keras
import tensorflow as tf

from plugmt.decoders.base import LanguageDecoder
from plugmt.decoders.configs import TransformerDecoderConfig
from plugmt.layers.attention import (
    FeedForward,
    MultiHeadAttention,
    Positions,
    causal_mask,
    check_transformer_sizes,
    padding_mask,
)
from plugmt.registry import register_decoder
from plugmt.thought import EOS_ID, Thought, ThoughtSpec


class DecoderLayer(keras.layers.Layer):
    """Pre-norm causal self-attention, cross-attention over the thought, feed-forward."""

    def __init__(self, width: int, heads: int, ffn: int, dropout: float, name: str) -> None:
        super().__init__(name=name)
        self.self_norm = keras.layers.LayerNormalization(epsilon=1e-6, name="self_norm")
        self.self_attention = MultiHeadAttention(width, heads, name="self_attention")
        self.cross_norm = keras.layers.LayerNormalization(epsilon=1e-6, name="cross_norm")
        self.cross_attention = MultiHeadAttention(width, heads, name="cross_attention")
        self.ffn_norm = keras.layers.LayerNormalization(epsilon=1e-6, name="ffn_norm")
        self.ffn = FeedForward(width, ffn)
        self.dropout = keras.layers.Dropout(dropout)

    def transform(
        self,
        x: tf.Tensor,
        self_kv: tuple[tf.Tensor, tf.Tensor],
        self_mask: tf.Tensor | None,
        cross_kv: tuple[tf.Tensor, tf.Tensor],
        cross_mask: tf.Tensor | None,
        training: bool,
    ) -> tf.Tensor:
        """`self_kv` are the self-attention keys/values the caller computed (all at once, or cached)."""
        attended = self.self_attention.attend(self.self_norm(x), *self_kv, self_mask)
        x = x + self.dropout(attended, training=training)
        attended = self.cross_attention.attend(self.cross_norm(x), *cross_kv, cross_mask)
        x = x + self.dropout(attended, training=training)
        return x + self.dropout(self.ffn.transform(self.ffn_norm(x)), training=training)


@register_decoder("transformer", TransformerDecoderConfig)
class TransformerDecoder(LanguageDecoder):
    accepts = ("slots", "memory")

    def __init__(self, config: TransformerDecoderConfig, vocab_size: int, thought: ThoughtSpec) -> None:
        super().__init__(config, vocab_size, thought)
        check_transformer_sizes("decoder", config.d_model, config.heads, config.positions)
        self.embedding = keras.layers.Embedding(vocab_size, config.d_model, name="embedding")
        self.positions = Positions(config.positions, config.d_model, config.max_len)
        self.blocks = [
            DecoderLayer(config.d_model, config.heads, config.ffn, config.dropout, name=f"layer_{i}")
            for i in range(config.layers)
        ]
        self.final_norm = keras.layers.LayerNormalization(epsilon=1e-6, name="final_norm")
        self.project = None if config.tie_embeddings else keras.layers.Dense(vocab_size, name="project")
        self.dropout = keras.layers.Dropout(config.dropout)

    def _embed(self, tokens: tf.Tensor, positions: tf.Tensor, training: bool) -> tf.Tensor:
        x = self.embedding(tokens) * math.sqrt(self.config.d_model) + self.positions.vectors(positions)
        return self.dropout(x, training=training)

    def _logits(self, x: tf.Tensor) -> tf.Tensor:
        x = self.final_norm(x)
        if self.project is None:
            # A plain matmul over flattened positions: the gradient of the equivalent einsum with
            # an ellipsis materialised a [B, T, vocab, d_model] tensor (2 GB at batch 64).
            table = tf.convert_to_tensor(self.embedding.embeddings)
            flat = tf.reshape(x, [-1, tf.shape(x)[-1]])
            logits = tf.matmul(flat, table, transpose_b=True)
            return tf.reshape(logits, tf.concat([tf.shape(x)[:-1], [tf.shape(table)[0]]], axis=0))
        return self.project(x)

    def teacher_forced(self, inputs: tf.Tensor, thought: Thought, training: bool = False) -> tf.Tensor:
        length = tf.shape(inputs)[1]
        if self.config.positions == "learned":
            tf.debugging.assert_less_equal(
                length,
                self.config.max_len,
                message=f"a target is longer than decoder.max_len={self.config.max_len}; raise it",
            )
        x = self._embed(inputs, tf.range(length)[None], training)
        causal, cross_mask = causal_mask(length), padding_mask(thought.mask)
        for block in self.blocks:
            self_kv = block.self_attention.keys_values(block.self_norm(x))
            cross_kv = block.cross_attention.keys_values(thought.memory)
            x = block.transform(x, self_kv, causal, cross_kv, cross_mask, training)
        return self._logits(x)

    def initial_state(self, thought: Thought) -> Any:
        batch = tf.shape(thought.memory)[0]
        depth = self.config.d_model // self.config.heads
        empty = tf.zeros([batch, self.config.heads, 0, depth], self.compute_dtype)
        cross = [block.cross_attention.keys_values(thought.memory) for block in self.blocks]
        return {
            "position": tf.zeros([batch], dtype=tf.int32),
            "keys": [empty for _ in self.blocks],
            "values": [empty for _ in self.blocks],
            "cross_keys": [k for k, _ in cross],
            "cross_values": [v for _, v in cross],
        }

    def reorder(self, state: Any, rows: tf.Tensor) -> Any:
        gathered = {key: state[key] for key in ("position", "keys", "values")}
        return {**state, **tf.nest.map_structure(lambda s: tf.gather(s, rows), gathered)}

    def state_shapes(self, state: Any) -> Any:
        shapes = super().state_shapes(state)
        growing = tf.TensorShape([None, self.config.heads, None, self.config.d_model // self.config.heads])
        return {**shapes, "keys": [growing for _ in self.blocks], "values": [growing for _ in self.blocks]}

    def step(self, tokens: tf.Tensor, state: Any, thought: Thought) -> tuple[tf.Tensor, Any]:
        position = state["position"]  # [B], equal in every row
        x = self._embed(tokens[:, None], position[:, None], training=False)  # [B, 1, D]
        cross_mask = padding_mask(thought.mask)
        keys, values = [], []
        for i, block in enumerate(self.blocks):
            new_keys, new_values = block.self_attention.keys_values(block.self_norm(x))  # [B, H, 1, d]
            keys.append(tf.concat([state["keys"][i], new_keys], axis=2))
            values.append(tf.concat([state["values"][i], new_values], axis=2))
            cross_kv = (state["cross_keys"][i], state["cross_values"][i])
            # Every cached position precedes this one: no causal mask is needed.
            x = block.transform(x, (keys[i], values[i]), None, cross_kv, cross_mask, training=False)
        logits = self._logits(x[:, 0])
        if self.config.positions == "learned":  # the table's last row: no room for another token
            full = tf.equal(position, self.config.max_len - 1)[:, None]
            only_eos = tf.where(tf.range(self.vocab_size) == EOS_ID, 0.0, -1e9)[None, :]
            logits = tf.where(full, tf.cast(only_eos, logits.dtype), logits)
        state = {**state, "position": position + 1, "keys": keys, "values": values}
        return logits, state
