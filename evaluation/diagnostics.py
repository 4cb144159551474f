"""How language-neutral are the thoughts? Cross-lingual retrieval and similarity of pooled thoughts.

For parallel items in languages A and B, retrieval is how often the thought of A's item is nearer
(cosine) to the thought of its own translation than to any other of B's items. A decoder plugged in
from one language can only read another language's thoughts if they land where it learned them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from plugmt.corpora.vocab import Vocab


def pooled_thoughts(
    encoder: Any, vocab: Vocab, texts: Mapping[str, Sequence[str]], batch_size: int = 256
) -> dict[str, np.ndarray]:
    """One pooled thought per text [N, D] for each language, through one compiled encoder call."""

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32)])
    def encode(ids: tf.Tensor) -> tf.Tensor:
        return encoder.encode(ids).pooled()

    def pool(items: Sequence[str]) -> np.ndarray:
        chunks = [
            encode(vocab.encode_padded(items[start : start + batch_size])).numpy()
            for start in range(0, len(items), batch_size)
        ]
        return np.concatenate(chunks) if chunks else np.zeros((0, 0), dtype=np.float32)

    return {lang: pool(items) for lang, items in texts.items()}


def retrieval_scores(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Row i of `a` and row i of `b` mean the same. Retrieval accuracy a->b and mean cosines."""
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    cosine = a @ b.T
    n = len(a)
    same = float(np.mean(np.diag(cosine)))
    different = float((cosine.sum() - np.trace(cosine)) / max(n * (n - 1), 1))
    return {
        "retrieval": round(float(np.mean(np.argmax(cosine, axis=1) == np.arange(n))), 4),
        "same_cosine": round(same, 4),
        "different_cosine": round(different, 4),
    }


def thought_diagnostics(
    encoder: Any, vocab: Vocab, texts: Mapping[str, Sequence[str]]
) -> list[dict[str, Any]]:
    """retrieval_scores for every ordered pair of the languages in `texts` (aligned item lists)."""
    return retrieval_table(pooled_thoughts(encoder, vocab, texts))


def retrieval_table(
    thoughts: Mapping[str, np.ndarray], labels: Mapping[str, Mapping[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """retrieval_scores for every ordered pair of languages in `thoughts` (aligned rows). A pair with
    a labelled language (e.g. read by a student encoder) carries its label; two labelled languages
    are not compared."""
    labels = labels or {}
    return [
        {"src": a, "tgt": b, **labels.get(a, labels.get(b, {})), **retrieval_scores(thoughts[a], thoughts[b])}
        for a in thoughts
        for b in thoughts
        if a != b and not (a in labels and b in labels)
    ]
