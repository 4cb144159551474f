"""A pre-norm Transformer encoder: one state per source position, handed on whole (`memory`)."""

from __future__ import annotations

import tensorflow as tf

from plugmt.encoders.base import SharedEncoder
from plugmt.encoders.configs import TransformerEncoderConfig
from plugmt.layers.attention import TransformerStack, check_transformer_sizes
from plugmt.registry import register_encoder
from plugmt.thought import PAD_ID, Thought


@register_encoder("transformer", TransformerEncoderConfig)
class TransformerEncoder(SharedEncoder):
    thought_kind = TransformerEncoderConfig.thought_kind

    def __init__(self, config: TransformerEncoderConfig, vocab_size: int) -> None:
        super().__init__(config, vocab_size)
        check_transformer_sizes("encoder", config.d_model, config.heads, config.positions)
        middle = config.layers // 2 if config.drop_middle_residual else None
        self.stack = TransformerStack(
            vocab_size,
            config.d_model,
            config.heads,
            config.layers,
            config.ffn,
            config.dropout,
            config.positions,
            config.max_len,
            residual_dropped_at=middle,
        )

    @property
    def width(self) -> int:
        return int(self.config.d_model)

    def encode(self, ids: tf.Tensor, training: bool = False) -> Thought:
        mask = tf.not_equal(ids, PAD_ID)
        return Thought(kind="memory", memory=self.stack.states(ids, training=training), mask=mask)
