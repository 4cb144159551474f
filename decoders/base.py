"""What every language decoder is: a Keras layer with one `step`, reading a Thought."""

from __future__ import annotations

from typing import Any, ClassVar

import keras
import tensorflow as tf

from plugmt.thought import Thought, ThoughtSpec


class LanguageDecoder(keras.layers.Layer):
    """Generates one language from a Thought.

    `step` is the single transition (previous token + state -> next-token logits + state); greedy and
    beam search call it directly, and `teacher_forced` runs the same transition over a whole target.
    """

    accepts: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: Any, vocab_size: int, thought: ThoughtSpec, **kwargs: Any) -> None:
        super().__init__(name="decoder", **kwargs)
        self.config = config
        self.vocab_size = int(vocab_size)
        self.thought = thought

    @classmethod
    def refusal(cls, config: Any, thought: ThoughtSpec) -> str | None:
        """Why this architecture cannot read `thought`, or None when it can."""
        if thought.kind not in cls.accepts:
            return f"reads thoughts of kind {', '.join(cls.accepts)}, but the encoder emits {thought.kind!r}"
        return None

    def initial_state(self, thought: Thought) -> Any:
        raise NotImplementedError

    def step(self, tokens: tf.Tensor, state: Any, thought: Thought) -> tuple[tf.Tensor, Any]:
        raise NotImplementedError

    def teacher_forced(self, inputs: tf.Tensor, thought: Thought, training: bool = False) -> tf.Tensor:
        raise NotImplementedError

    def build_weights(self, thought: Thought) -> None:
        """Create every variable with a dummy batch so weights can be loaded or counted."""
        self.teacher_forced(tf.ones((1, 2), dtype=tf.int32), thought)
        self.built = True
