"""How language-neutral are the thoughts? Cross-lingual retrieval and similarity of pooled thoughts.

For parallel items in languages A and B, retrieval is how often the thought of A's item is nearer
(cosine) to the thought of its own translation than to any other of B's items. A decoder plugged in
from one language can only read another language's thoughts if they land where it learned them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from operator import methodcaller
from typing import TYPE_CHECKING, Any

import numpy as np
import tensorflow as tf

from plugmt.corpora.vocab import Vocab
from plugmt.layers.losses import alignment_loss
from plugmt.thought import Thought

if TYPE_CHECKING:
    from plugmt.inference.translator import Translator


# encoded_rows' name for each text's slot overlap (`encoders/bridge.slot_overlap`), beside the views
OVERLAP = "overlap"


def encoded_rows(
    encoder: Any,
    vocab: Vocab,
    texts: Mapping[str, Sequence[str]],
    views: Mapping[str, Callable[[Thought], tf.Tensor]],
    batch_size: int = 256,
    overlap: bool = False,
) -> dict[str, dict[str, np.ndarray]]:
    """Each language's texts through one compiled encoder call, once: {view: {lang: [N, D]}}, one row
    per text for each view of the thought (`methodcaller("pooled")`, `methodcaller("whole")`: everything
    of fixed size a decoder reads, e.g. every slot). With `overlap`, an encoder with slots also gives
    each text's slot overlap under OVERLAP ([N]; absent for an encoder without slots)."""

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32)])
    def encode(ids: tf.Tensor) -> dict[str, tf.Tensor]:
        thought, per_text = encoder.encode_with_overlap(ids) if overlap else (encoder.encode(ids), None)
        found = {name: view(thought) for name, view in views.items()}
        return found if per_text is None else {**found, OVERLAP: per_text}

    def rows(items: Sequence[str]) -> dict[str, np.ndarray]:
        chunks = [
            encode(vocab.encode_padded(items[start : start + batch_size]))
            for start in range(0, len(items), batch_size)
        ]
        if not chunks:
            return {name: np.zeros((0, 0), dtype=np.float32) for name in views}
        return {name: np.concatenate([c[name].numpy() for c in chunks]) for name in chunks[0]}

    found = {lang: rows(items) for lang, items in texts.items()}
    names = {name for rows_of in found.values() for name in rows_of}
    return {name: {lang: found[lang][name] for lang in texts if name in found[lang]} for name in names}


def pooled_thoughts(
    encoder: Any, vocab: Vocab, texts: Mapping[str, Sequence[str]], batch_size: int = 256
) -> dict[str, np.ndarray]:
    """One pooled thought per text [N, D] for each language (`encoded_rows`' pooled view)."""
    return encoded_rows(encoder, vocab, texts, {"pooled": methodcaller("pooled")}, batch_size)["pooled"]


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


def group_distances(
    thoughts: Mapping[str, np.ndarray], groups: Sequence[str], reference: str
) -> list[dict[str, Any]]:
    """How far each language's thoughts are from `reference`'s, group by group (phrasebook family,
    length band): the alignment term of training (train.align_weight; 0 = the same thoughts, about
    2 = unrelated) over the rows of each group of two or more. Where it is large, a decoder that
    learned `reference`'s thoughts reads another language's as something else: a zero-shot cell's
    errors sit where its source is far from the languages its decoder was trained on."""
    rows = defaultdict(list)
    for row, group in enumerate(groups):
        rows[group].append(row)
    return [
        {
            "src": lang,
            "to": reference,
            "group": group,
            "n": len(at),
            "distance": round(float(alignment_loss(thoughts[reference][at], thoughts[lang][at])), 4),
        }
        for lang in thoughts
        if lang != reference
        for group, at in sorted(rows.items())
        if len(at) > 1
    ]


# What the matrix reads of each source's thoughts: pooled for retrieval, whole for the distances.
SPACE_VIEWS = {"pooled": methodcaller("pooled"), "whole": methodcaller("whole")}


def space_thoughts(
    readers: Mapping[str, Translator], texts: Mapping[str, Sequence[str]], batch_size: int = 256
) -> dict[str, dict[str, np.ndarray]]:
    """`encoded_rows` (SPACE_VIEWS, and OVERLAP for languages read by an encoder with slots) of each
    source language, read by the encoder of the space that reads it (`readers`: the matrix's; a
    student's language by the student). Each language is encoded once."""
    thoughts: dict[str, dict[str, np.ndarray]] = {name: {} for name in (*SPACE_VIEWS, OVERLAP)}
    for reader in {id(r): r for r in readers.values()}.values():
        langs = {lang: texts[lang] for lang, r in readers.items() if r is reader}
        found = encoded_rows(
            reader.encoder, reader.source_vocab, langs, SPACE_VIEWS, batch_size, overlap=True
        )
        for name, rows in found.items():
            thoughts[name] |= rows
    return thoughts


def space_report(
    translator: Translator,
    readers: Mapping[str, Translator],
    texts: Mapping[str, Sequence[str]],
    groups: Sequence[str] | None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, float]]:
    """What the matrix says of its thought space, each source encoded once (`space_thoughts`):
    retrieval between every two source languages on the pooled view, each read by the encoder of
    the space that reads it (a pair with a student's language names the student: teacher<->student
    retrieval); and, given the rows' `groups`, how far each source's whole thoughts sit from
    English's (from the first source's when English is not read), group by group; and for sources
    read by an encoder with slots, the mean slot overlap of their texts (0 when each slot reads a
    position of its own, K − 1 when all K read one: where most slots share one position, the thought
    has few slots' worth of room)."""
    thoughts = space_thoughts(readers, texts)
    students = {lang: {"student": r.encoder_module.id} for lang, r in readers.items() if r is not translator}
    diagnostics = retrieval_table(thoughts["pooled"], students)
    whole = thoughts["whole"]
    reference = "en" if "en" in whole else next(iter(whole))
    distances = group_distances(whole, groups, reference) if groups else []
    overlaps = {lang: round(float(np.mean(v)), 4) for lang, v in thoughts[OVERLAP].items() if len(v)}
    return diagnostics, distances, overlaps
