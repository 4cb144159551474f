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
    # Feed the thought vector into every step as well as the initial state (Cho et al. 2014). The
    # decoder then need not carry the whole sentence in its state; false is the tutorial's decoder.
    feed_thought: bool = True


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

    def _inputs(self, tokens: tf.Tensor, thought: Thought) -> tf.Tensor:
        embedded = self.embedding(tokens)
        if not self.config.feed_thought:
            return embedded
        context = thought.states[0]  # h: bounded, unlike c
        if len(embedded.shape) == 3:
            context = tf.repeat(context[:, None, :], tf.shape(embedded)[1], axis=1)
        return tf.concat([embedded, context], axis=-1)

    def step(self, tokens: tf.Tensor, state: Any, thought: Thought) -> tuple[tf.Tensor, Any]:
        output, state = self.cell(self._inputs(tokens, thought), state)
        return self.project(output), state

    def teacher_forced(self, inputs: tf.Tensor, thought: Thought, training: bool = False) -> tf.Tensor:
        outputs = self.rnn(
            self._inputs(inputs, thought), initial_state=self.initial_state(thought), training=training
        )
        return self.project(outputs)
