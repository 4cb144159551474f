"""The Thought: the whole contract between a shared encoder and a language decoder.

An encoder turns a batch of source sentences into a Thought; a decoder reads only the Thought. Three
kinds exist (DESIGN.md):

- ``vector``: one fixed vector per sentence, carried as recurrent ``states`` (the tutorial's final
  LSTM (h, c)); a decoder starts from it and never looks back;
- ``slots``: K fixed vectors per sentence (``memory`` [B, K, D], no mask) for cross-attention;
- ``memory``: one vector per source position (``memory`` [B, T, D] and ``mask`` [B, T]).

A decoder declares the kinds it accepts and the width it needs (`ThoughtSpec`), so the store can
refuse a mismatch before any tensor flows. The special token ids are part of the contract too: every
vocabulary (corpora.vocab) reserves them, every decoder starts from BOS_ID and stops at EOS_ID.

This module imports no TensorFlow at import time: the corpus, the store and the command line's help
read it without paying for TensorFlow's start-up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import tensorflow as tf

# Token ids every SentencePiece vocabulary of plugmt reserves (corpora.vocab trains them so).
PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3
# No plugmt output is anywhere near this many tokens: search never emits more, and the store refuses a
# module asking for more, so a hostile module cannot make search (or a step cache) exhaust memory.
MAX_DECODE_LEN = 4096

THOUGHT_KINDS = ("vector", "slots", "memory")


@dataclass(frozen=True)
class ThoughtSpec:
    """What an encoder emits (or a decoder needs): the kind and the width D of each vector."""

    kind: str
    width: int

    def __post_init__(self) -> None:
        if self.kind not in THOUGHT_KINDS:
            raise ValueError(f"thought kind {self.kind!r} is not one of {THOUGHT_KINDS}")

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "width": self.width}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ThoughtSpec:
        return cls(kind=str(data["kind"]), width=int(data["width"]))


@dataclass(frozen=True)
class Thought:
    """A batch of encoded sentences; only the fields of its kind are set."""

    kind: str
    states: tuple[tf.Tensor, ...] = field(default=())
    memory: tf.Tensor | None = None
    mask: tf.Tensor | None = None

    def __post_init__(self) -> None:
        if self.kind not in THOUGHT_KINDS:
            raise ValueError(f"thought kind {self.kind!r} is not one of {THOUGHT_KINDS}")
        if self.kind == "vector" and not self.states:
            raise ValueError("a 'vector' thought carries its vector as recurrent states")
        if self.kind in ("slots", "memory") and self.memory is None:
            raise ValueError(f"a {self.kind!r} thought needs memory [batch, positions, width]")
        if self.kind == "memory" and self.mask is None:
            raise ValueError("a 'memory' thought needs a padding mask [batch, positions]")

    def map(self, fn: Callable[[tf.Tensor], tf.Tensor]) -> Thought:
        """The same kind of thought with `fn` applied to every tensor it carries (e.g. to tile rows)."""
        return Thought(
            kind=self.kind,
            states=tuple(fn(s) for s in self.states),
            memory=None if self.memory is None else fn(self.memory),
            mask=None if self.mask is None else fn(self.mask),
        )

    def cast(self, dtype: Any) -> Thought:
        """The same thought with its float tensors in `dtype` (the mask stays boolean): encoders hand
        on float32 thoughts whatever they compute in, and a decoder reads them in its own precision."""
        import tensorflow as tf

        def to(x: tf.Tensor) -> tf.Tensor:
            return x if x.dtype == tf.as_dtype(dtype) or not x.dtype.is_floating else tf.cast(x, dtype)

        return Thought(
            kind=self.kind,
            states=tuple(to(s) for s in self.states),
            memory=None if self.memory is None else to(self.memory),
            mask=self.mask,
        )

    def whole(self) -> tf.Tensor:
        """One row per sentence of everything a decoder reads that has a fixed size: a slots thought's
        K slots side by side [B, K*D] (slot k answers the same query in every language), any other
        kind `pooled()` (a memory's length varies with the sentence)."""
        import tensorflow as tf

        if self.kind == "slots":
            return tf.reshape(self.memory, [tf.shape(self.memory)[0], -1])
        return self.pooled()

    def pooled(self) -> tf.Tensor:
        """One vector per sentence [B, D'], whatever the kind.

        Used to compare thoughts across languages (alignment loss, retrieval diagnostics): the
        vector kind concatenates its states so that everything a decoder reads is compared.
        """
        import tensorflow as tf

        if self.kind == "vector":
            return tf.concat(list(self.states), axis=-1)
        if self.mask is None:
            return tf.reduce_mean(self.memory, axis=1)
        weights = tf.cast(self.mask, self.memory.dtype)[:, :, None]
        total = tf.reduce_sum(self.memory * weights, axis=1)
        return total / tf.maximum(tf.reduce_sum(weights, axis=1), 1.0)
