"""The seed tutorial's decoder: an LSTM whose state starts at the thought vector.

Given slots or memory instead of one vector, it starts from the pooled thought (through a dense
layer) and reads the thought through attention at every step (Luong et al. 2015, "general" score,
no input feeding: teacher forcing stays one parallel pass of the LSTM, then attention over all
positions at once). For vector thoughts its layers and stored weights are exactly the tutorial's.
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from plugmt.decoders.base import LanguageDecoder
from plugmt.decoders.configs import LSTMDecoderConfig
from plugmt.layers.attention import softmax
from plugmt.registry import register_decoder
from plugmt.thought import Thought, ThoughtSpec


@register_decoder("lstm", LSTMDecoderConfig)
class LSTMDecoder(LanguageDecoder):
    """For a vector thought its units equal the thought width: the thought *is* the initial (h, c)."""

    accepts = ("vector", "slots", "memory")

    def __init__(self, config: LSTMDecoderConfig, vocab_size: int, thought: ThoughtSpec) -> None:
        super().__init__(config, vocab_size, thought)
        units = config.units or thought.width
        self.embedding = keras.layers.Embedding(vocab_size, config.embed_dim, name="embedding")
        self.cell = keras.layers.LSTMCell(units, name="cell")
        # Teacher forcing runs the very cell that `step` calls, over every target position.
        self.rnn = keras.layers.RNN(self.cell, return_sequences=True, name="rnn")
        self.project = keras.layers.Dense(vocab_size, name="project")
        # getattr: a subclass's own config (an architecture of another package) may have no dropout
        rate = float(getattr(config, "dropout", 0.0))
        self.dropout = keras.layers.Dropout(rate, name="dropout") if rate else None
        self.attends = thought.kind != "vector"
        if self.attends:  # created after the tutorial's layers, and only here: vector weights unchanged
            self.start = keras.layers.Dense(units, activation="tanh", name="start")
            self.query = keras.layers.Dense(thought.width, use_bias=False, name="query")
            self.attentional = keras.layers.Dense(units, activation="tanh", name="attentional")

    @classmethod
    def refusal(cls, config: LSTMDecoderConfig, thought: ThoughtSpec) -> str | None:
        reason = super().refusal(config, thought)
        if reason is None and thought.kind == "vector" and config.units not in (None, thought.width):
            return (
                f"starts from the thought vector, so decoder.units={config.units} must equal its width "
                f"{thought.width}; leave decoder.units=null"
            )
        return reason

    def _start(self, thought: Thought) -> tf.Tensor:
        """h at the start (and the vector fed to every step): the thought's, or the pooled thought's."""
        if self.attends:
            return self.start(thought.pooled())
        return thought.states[0]  # h: bounded, unlike c

    def initial_state(self, thought: Thought) -> Any:
        if self.attends:
            h = self._start(thought)
            return [h, tf.zeros_like(h)]
        h, c = thought.states
        return [h, c]

    def _attend(self, outputs: tf.Tensor, thought: Thought) -> tf.Tensor:
        """Outputs [B, U] or [B, T, U] -> attentional states tanh(W [context; output]), same shape."""
        single = len(outputs.shape) == 2
        queries = self.query(outputs[:, None, :] if single else outputs)  # [B, Tq, width]
        scores = tf.matmul(queries, thought.memory, transpose_b=True)  # [B, Tq, S]
        if thought.mask is not None:
            scores = tf.where(thought.mask[:, None, :], scores, tf.constant(-1e9, scores.dtype))
        context = tf.matmul(softmax(scores, axis=-1), thought.memory)
        if single:
            context = context[:, 0]
        return self.attentional(tf.concat([context, outputs], axis=-1))

    def _inputs(self, tokens: tf.Tensor, thought: Thought) -> tf.Tensor:
        embedded = self.embedding(tokens)
        if not self.config.feed_thought:
            return embedded
        context = self._start(thought)
        if len(embedded.shape) == 3:
            context = tf.repeat(context[:, None, :], tf.shape(embedded)[1], axis=1)
        return tf.concat([embedded, context], axis=-1)

    def step(self, tokens: tf.Tensor, state: Any, thought: Thought) -> tuple[tf.Tensor, Any]:
        output, state = self.cell(self._inputs(tokens, thought), state)
        if self.attends:
            output = self._attend(output, thought)
        return self.project(output), state

    def teacher_forced(self, inputs: tf.Tensor, thought: Thought, training: bool = False) -> tf.Tensor:
        outputs = self.rnn(
            self._dropped(self._inputs(inputs, thought), training),
            initial_state=self.initial_state(thought),
            training=training,
        )
        if self.attends:
            outputs = self._attend(outputs, thought)
        return self.project(self._dropped(outputs, training))

    def _dropped(self, x: tf.Tensor, training: bool) -> tf.Tensor:
        return x if self.dropout is None else self.dropout(x, training=training)
