"""Adapters: a small map from one encoder's thought space into another's.

The literal claim of the seed tutorial is that a decoder trained with one encoder can read another
encoder's thoughts. Independently trained encoders do not share a space (Purason et al. 2024 found
that independently trained modules need adapters), so plugmt can fit a map on a few thousand
sentences that both encoders read: `linear` (least squares with a bias) or `orthogonal`
(Procrustes: a rotation, which keeps distances and so cannot collapse the space).

A vector thought is mapped as the concatenation of its states (h and c of an LSTM); slots and
memory are mapped vector by vector. The map goes from the encoder in use to the one the decoder
was trained against.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf

from plugmt.errors import PlugmtError
from plugmt.thought import Thought

ADAPTERS = ("linear", "orthogonal")


@dataclass(frozen=True)
class Adapter:
    """y = (x - mean_in) @ matrix + mean_out, for every thought vector x."""

    kind: str
    matrix: np.ndarray  # [D_in, D_out]
    mean_in: np.ndarray  # [D_in]
    mean_out: np.ndarray  # [D_out]
    splits: tuple[int, ...] = ()  # widths of a vector thought's states in the target space

    def __call__(self, thought: Thought) -> Thought:
        matrix = tf.constant(self.matrix, tf.float32)
        mean_in = tf.constant(self.mean_in, tf.float32)
        mean_out = tf.constant(self.mean_out, tf.float32)

        def apply(x: tf.Tensor) -> tf.Tensor:
            return tf.tensordot(x - mean_in, matrix, axes=1) + mean_out

        if thought.kind == "vector":
            mapped = apply(tf.concat(list(thought.states), axis=-1))
            return Thought("vector", states=tuple(tf.split(mapped, list(self.splits), axis=-1)))
        return Thought(thought.kind, memory=apply(thought.memory), mask=thought.mask)


def fit_adapter(kind: str, source: np.ndarray, target: np.ndarray, splits: Sequence[int] = ()) -> Adapter:
    """The map that best takes `source` rows [N, D_in] onto `target` rows [N, D_out]."""
    if kind not in ADAPTERS:
        raise PlugmtError(f"adapter={kind!r} is not one of: {', '.join(ADAPTERS)} (or null for none)")
    source = np.asarray(source, np.float64)
    target = np.asarray(target, np.float64)
    mean_in, mean_out = source.mean(axis=0), target.mean(axis=0)
    x, y = source - mean_in, target - mean_out
    if kind == "orthogonal":
        if x.shape[1] != y.shape[1]:
            raise PlugmtError(
                f"an orthogonal adapter maps equal widths, but the thoughts are {x.shape[1]} and "
                f"{y.shape[1]} wide; use adapter=linear"
            )
        u, _, vt = np.linalg.svd(x.T @ y)
        matrix = u @ vt
    else:
        matrix = np.linalg.lstsq(x, y, rcond=None)[0]
    return Adapter(
        kind,
        matrix.astype(np.float32),
        mean_in.astype(np.float32),
        mean_out.astype(np.float32),
        tuple(splits),
    )


def thought_rows(
    encoder: Any, vocab: Any, texts: Sequence[str], batch_size: int = 256
) -> tuple[np.ndarray, tuple[int, ...]]:
    """Every thought vector of `texts` as rows [N', D], and a vector thought's state widths."""
    rows, splits = [], ()
    for start in range(0, len(texts), batch_size):
        ids = tf.constant(vocab.encode_padded(texts[start : start + batch_size]))
        thought = encoder.encode(ids)
        if thought.kind == "vector":
            splits = tuple(int(s.shape[-1]) for s in thought.states)
            rows.append(tf.concat(list(thought.states), axis=-1).numpy())
        else:
            memory = thought.memory.numpy()
            keep = (
                np.ones(memory.shape[:2], bool) if thought.mask is None else thought.mask.numpy().astype(bool)
            )
            rows.append(memory[keep])
    return np.concatenate(rows), splits


def adapter_between(
    kind: str, encoder: Any, encoder_vocab: Any, trained_with: Any, trained_vocab: Any, texts: Sequence[str]
) -> Adapter:
    """Fit `kind` from `encoder`'s thoughts of `texts` to those of `trained_with` (the decoder's
    own encoder)."""
    source, _ = thought_rows(encoder, encoder_vocab, texts)
    target, splits = thought_rows(trained_with, trained_vocab, texts)
    if len(source) != len(target):
        raise PlugmtError(
            "the two encoders cut these sentences into different numbers of positions; adapters map "
            "vector or slots thoughts, or memory thoughts of one vocabulary"
        )
    return fit_adapter(kind, source, target, splits)
