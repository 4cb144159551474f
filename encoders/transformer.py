"""A pre-norm Transformer encoder: one state per source position, handed on whole (`memory`)."""

from __future__ import annotations

from dataclasses import dataclass

import tensorflow as tf

from plugmt.encoders.base import SharedEncoder
from plugmt.layers.attention import TransformerStack, check_transformer_sizes
from plugmt.registry import register_encoder
from plugmt.thought import PAD_ID, Thought


@dataclass
class TransformerEncoderConfig:
    name: str = "transformer"
    d_model: int = 64
    heads: int = 4
    layers: int = 2
    ffn: int = 128
    dropout: float = 0.1
    positions: str = "sinusoidal"  # sinusoidal | learned
    max_len: int = 256  # learned positions: the longest source
    # Drop the residual connection around self-attention in the middle layer (Liu et al. 2021):
    # states above it keep less of each token's position, which helps zero-shot directions.
    drop_middle_residual: bool = False


@register_encoder("transformer", TransformerEncoderConfig)
class TransformerEncoder(SharedEncoder):
    thought_kind = "memory"

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
