"""The seed tutorial's encoder: a character LSTM whose final (h, c) state is the thought vector."""

from __future__ import annotations

import keras
import tensorflow as tf

from plugmt.encoders.base import SharedEncoder
from plugmt.encoders.configs import LSTMEncoderConfig
from plugmt.registry import register_encoder
from plugmt.thought import PAD_ID, Thought


@register_encoder("lstm", LSTMEncoderConfig)
class LSTMEncoder(SharedEncoder):
    thought_kind = LSTMEncoderConfig.thought_kind

    def __init__(self, config: LSTMEncoderConfig, vocab_size: int) -> None:
        super().__init__(config, vocab_size)
        self.embedding = keras.layers.Embedding(vocab_size, config.embed_dim, name="embedding")
        self.lstm = keras.layers.LSTM(config.units, return_state=True, name="lstm")
        # getattr: a subclass's own config (an architecture of another package) may have no dropout
        rate = float(getattr(config, "dropout", 0.0))
        self.dropout = keras.layers.Dropout(rate, name="dropout") if rate else None

    @property
    def width(self) -> int:
        return int(self.config.units)

    def encode(self, ids: tf.Tensor, training: bool = False) -> Thought:
        # The mask keeps padding out of the final state, so a sentence's thought does not depend on
        # the length of the longest sentence it happens to be batched with.
        mask = tf.not_equal(ids, PAD_ID)
        if self.config.reverse:
            lengths = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
            ids = tf.reverse_sequence(ids, lengths, seq_axis=1, batch_axis=0)
        embedded = self.embedding(ids)
        if self.dropout is not None:
            embedded = self.dropout(embedded, training=training)
        _, h, c = self.lstm(embedded, mask=mask, training=training)
        return Thought(kind="vector", states=(h, c))
