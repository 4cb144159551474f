"""The seed tutorial's decoder: an LSTM whose state starts at the thought vector."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import keras
import tensorflow as tf

from plugmt.decoders.base import LanguageDecoder
from plugmt.encoders.thought import Thought, ThoughtSpec
from plugmt.registry import register_decoder


@dataclass
class LSTMDecoderConfig:
    name: str = "lstm"
    # Language this decoder writes; set by the training mode (joint: every target of data.pairs).
    lang: str | None = None
    embed_dim: int = 32


@register_decoder("lstm", LSTMDecoderConfig)
class LSTMDecoder(LanguageDecoder):
    """Its units equal the thought width: the thought *is* the initial (h, c), as in the tutorial."""

    accepts = ("vector",)

    def __init__(self, config: LSTMDecoderConfig, vocab_size: int, thought: ThoughtSpec) -> None:
        super().__init__(config, vocab_size, thought)
        self.embedding = keras.layers.Embedding(vocab_size, config.embed_dim, name="embedding")
        self.cell = keras.layers.LSTMCell(thought.width, name="cell")
        # Teacher forcing runs the very cell that `step` calls, over every target position.
        self.rnn = keras.layers.RNN(self.cell, return_sequences=True, name="rnn")
        self.project = keras.layers.Dense(vocab_size, name="project")

    def initial_state(self, thought: Thought) -> Any:
        h, c = thought.states
        return [h, c]

    def step(self, tokens: tf.Tensor, state: Any, thought: Thought) -> tuple[tf.Tensor, Any]:
        output, state = self.cell(self.embedding(tokens), state)
        return self.project(output), state

    def teacher_forced(self, inputs: tf.Tensor, thought: Thought, training: bool = False) -> tf.Tensor:
        outputs = self.rnn(
            self.embedding(inputs), initial_state=self.initial_state(thought), training=training
        )
        return self.project(outputs)
