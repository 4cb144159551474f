"""The attention bridge (Vázquez et al. 2019): a fixed number of slots, whatever the sentence length.

A bi-LSTM or self-attention body reads the source; K learned queries then each attend over its
states (structured self-attention, Lin et al. 2017), so every sentence becomes K vectors [B, K, D].
The bridge is the only path from source to decoder, which is what makes it a shared interlingua.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from plugmt.encoders.base import SharedEncoder
from plugmt.encoders.configs import BridgeEncoderConfig
from plugmt.errors import PlugmtError
from plugmt.layers.attention import TransformerStack, check_transformer_sizes, softmax
from plugmt.registry import register_encoder
from plugmt.thought import PAD_ID, Thought

BODIES = ("lstm", "transformer")


@register_encoder("bridge", BridgeEncoderConfig)
class BridgeEncoder(SharedEncoder):
    thought_kind = BridgeEncoderConfig.thought_kind

    def __init__(self, config: BridgeEncoderConfig, vocab_size: int) -> None:
        super().__init__(config, vocab_size)
        if config.body not in BODIES:
            raise PlugmtError(f"encoder.body={config.body!r}: use one of {', '.join(BODIES)}")
        if config.slots < 1:
            raise PlugmtError(f"encoder.slots={config.slots}: the bridge needs at least one slot")
        if config.body == "lstm":
            if config.d_model % 2:
                raise PlugmtError(f"encoder.d_model={config.d_model} must be even: the bi-LSTM halves it")
            self.embedding = keras.layers.Embedding(vocab_size, config.d_model, name="embedding")
            lstm = keras.layers.LSTM(config.d_model // 2, return_sequences=True, name="lstm")
            self.body = keras.layers.Bidirectional(lstm, name="bi_lstm")
        else:
            check_transformer_sizes("encoder", config.d_model, config.heads, config.positions)
            self.body = TransformerStack(
                vocab_size,
                config.d_model,
                config.heads,
                config.layers,
                config.ffn,
                config.dropout,
                config.positions,
                config.max_len,
            )
        self.score_hidden = keras.layers.Dense(config.attention_units, activation="relu", name="score_hidden")
        self.queries = keras.layers.Dense(config.slots, use_bias=False, name="queries")

    @property
    def width(self) -> int:
        return int(self.config.d_model)

    def _states(self, ids: tf.Tensor, mask: tf.Tensor, training: bool) -> tf.Tensor:
        if self.config.body == "lstm":
            return self.body(self.embedding(ids), mask=mask, training=training)
        return self.body.states(ids, training=training)

    def _read(self, ids: tf.Tensor, training: bool) -> tuple[Thought, tf.Tensor]:
        """The thought and the slots' attention weights [B, T, K] (each column: one slot's
        distribution over source positions)."""
        mask = tf.not_equal(ids, PAD_ID)
        states = self._states(ids, mask, training)  # [B, T, D]
        scores = self.queries(self.score_hidden(states))  # [B, T, K]
        scores = tf.where(mask[:, :, None], scores, tf.constant(-1e9, scores.dtype))
        weights = softmax(scores, axis=1)  # each slot: a distribution over source positions
        slots = tf.einsum("btk,btd->bkd", weights, states)
        return Thought(kind="slots", memory=slots), weights

    def encode(self, ids: tf.Tensor, training: bool = False) -> Thought:
        return self._read(ids, training)[0]

    def encode_with_overlap(self, ids: tf.Tensor, training: bool = False) -> tuple[Thought, tf.Tensor]:
        thought, weights = self._read(ids, training)
        return thought, slot_overlap(weights)


def slot_overlap(weights: tf.Tensor) -> tf.Tensor:
    """How much the K slots read the same source positions, for each sentence [B]: ||AᵀA − I||² / K,
    A [T, K] the sentence's attention weights (Lin et al. 2017's penalty, per slot).

    0 when every slot reads one position of its own; 1 when each slot shares its one position with
    one other; K − 1 when all K read one position. Without it a bridge can put most slots on one
    piece (one run on the whole phrasebook, seed 0, alignment weight 10: 8 of 10 slots on the year).
    """
    a = tf.cast(weights, tf.float32)
    k = tf.shape(a)[2]
    gram = tf.einsum("btk,btj->bkj", a, a)
    off = gram - tf.eye(k, dtype=tf.float32)[None]
    return tf.reduce_sum(tf.square(off), axis=[1, 2]) / tf.cast(k, tf.float32)
