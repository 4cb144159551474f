"""What every shared encoder is: a Keras layer from token ids to a Thought."""

from __future__ import annotations

import functools
from typing import Any, ClassVar

import keras
import tensorflow as tf

from plugmt.thought import Thought, ThoughtSpec


class SharedEncoder(keras.layers.Layer):
    """Reads token ids [B, T] (0 = padding) in any of its languages and returns a Thought.

    Subclasses set `thought_kind`, implement `encode` and report their `width`. The encoder has no
    source-language tag: one encoder for all languages is the point.
    """

    thought_kind: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "encode" in cls.__dict__:  # every architecture's own encode, plugmt's or a user's
            cls.encode = _float32_thought(cls.__dict__["encode"])
        if "encode_with_overlap" in cls.__dict__:
            cls.encode_with_overlap = _float32_thought(cls.__dict__["encode_with_overlap"], with_overlap=True)

    def __init__(self, config: Any, vocab_size: int, **kwargs: Any) -> None:
        super().__init__(name="encoder", **kwargs)
        self.config = config
        self.vocab_size = int(vocab_size)

    @property
    def width(self) -> int:
        raise NotImplementedError

    def thought_spec(self) -> ThoughtSpec:
        return ThoughtSpec(kind=self.thought_kind, width=self.width)

    def encode(self, ids: tf.Tensor, training: bool = False) -> Thought:
        raise NotImplementedError

    def encode_with_overlap(self, ids: tf.Tensor, training: bool = False) -> tuple[Thought, tf.Tensor | None]:
        """The thought and, for each sentence [B], how much its slots read the same source positions
        (train.slot_diversity penalises it); None for an encoder without slots."""
        return self.encode(ids, training=training), None

    def build_weights(self) -> None:
        """Create every variable (so weights can be loaded or fingerprinted) with a dummy batch."""
        self.encode(tf.ones((1, 2), dtype=tf.int32))
        self.built = True


def _float32_thought(encode: Any, with_overlap: bool = False) -> Any:
    """`encode` (or `encode_with_overlap`: the thought first), handing on a float32 thought whatever
    precision the encoder computes in (train.precision): the thought is the contract between
    modules, and alignment is measured on it."""

    @functools.wraps(encode)
    def wrapped(self: SharedEncoder, ids: tf.Tensor, *args: Any, **kwargs: Any) -> Any:
        if with_overlap:
            thought, overlap = encode(self, ids, *args, **kwargs)
            return thought.cast(tf.float32), overlap
        return encode(self, ids, *args, **kwargs).cast(tf.float32)

    return wrapped
