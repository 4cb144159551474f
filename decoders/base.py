"""What every language decoder is: a Keras layer with one `step`, reading a Thought."""

from __future__ import annotations

import functools
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

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Every architecture's own methods, plugmt's or a user's, read the thought in the decoder's
        # compute precision and return float32 logits (train.precision: softmax and losses in float32).
        for name, reads_at in (("initial_state", 0), ("step", 2), ("teacher_forced", 1)):
            if name in cls.__dict__:
                setattr(cls, name, _own_precision(cls.__dict__[name], reads_at, name != "initial_state"))

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

    def reorder(self, state: Any, rows: tf.Tensor) -> Any:
        """The state of the hypotheses `rows` (beam search keeps the survivors): every tensor
        gathered along its first axis. A decoder whose state holds per-sentence parts that no
        hypothesis changes (a Transformer's cross-attention keys and values) leaves those alone."""
        return tf.nest.map_structure(lambda s: tf.gather(s, rows), state)

    def state_shapes(self, state: Any) -> Any:
        """The shapes each state tensor may take across search steps (`tf.while_loop` invariants):
        any number of rows; a state that grows with the positions decoded says so here."""
        return tf.nest.map_structure(lambda s: tf.TensorShape([None, *s.shape[1:]]), state)

    def build_weights(self, thought: Thought) -> None:
        """Create every variable with a dummy batch so weights can be loaded or counted."""
        self.teacher_forced(tf.ones((1, 2), dtype=tf.int32), thought)
        self.built = True


def _own_precision(method: Any, thought_at: int, logits_first: bool) -> Any:
    """`method` with its thought argument (positional index `thought_at`, or `thought=`) cast to the
    decoder's compute dtype and, when it returns logits (first, or alone), those cast to float32."""

    @functools.wraps(method)
    def wrapped(self: LanguageDecoder, *args: Any, **kwargs: Any) -> Any:
        if "thought" in kwargs:
            kwargs["thought"] = kwargs["thought"].cast(self.compute_dtype)
        elif len(args) > thought_at:
            args = (*args[:thought_at], args[thought_at].cast(self.compute_dtype), *args[thought_at + 1 :])
        out = method(self, *args, **kwargs)
        if not logits_first:
            return out
        if isinstance(out, tuple):
            return (tf.cast(out[0], tf.float32), *out[1:])
        return tf.cast(out, tf.float32)

    return wrapped
