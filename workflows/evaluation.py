"""The zero-shot matrix: every source x target cell, labelled, scored, beside its pivot baseline."""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import sacrebleu
from sacrebleu.significance import PairedTest

from plugmt.corpora.corpus import Corpus
from plugmt.corpora.pairs import Pair, pivot_path
from plugmt.errors import PlugmtError
from plugmt.registry import StoredModule
from plugmt.workflows.diagnostics import thought_diagnostics
from plugmt.workflows.translator import Translator

log = logging.getLogger("plugmt.eval")

SUPERVISED, ZERO_SHOT, PLUGGED, FOREIGN = "supervised", "zero-shot", "plugged", "foreign"


@dataclass
class Cell:
    src: str
    tgt: str
    kind: str
    n: int
    exact: float
    chrf: float
    bleu: float
    decoder: str
    pivot: dict[str, Any] | None = None
    exact_ci: list[float] | None = None  # 95% Wilson interval of `exact` over the n items


@dataclass
class Matrix:
    encoder: str
    split: str
    cells: list[Cell]
    signatures: dict[str, str] = field(default_factory=dict)
    diagnostics: list[dict[str, Any]] = field(default_factory=list)
    training: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "encoder": self.encoder,
            "split": self.split,
            "signatures": self.signatures,
            "cells": [asdict(c) for c in self.cells],
            "thought_diagnostics": self.diagnostics,
            "training": self.training,
        }

    def unconverged(self) -> list[str]:
        """Modules whose stage a budget stopped before validation converged."""
        return [m["id"] for m in self.training if m.get("converged") is False]


def training_record(modules: Sequence[StoredModule]) -> list[dict[str, Any]]:
    """How each module's stage ended: steps, why it stopped, whether validation had converged."""
    rows = []
    for module in modules:
        history = module.meta.get("training") or {}
        keys = ("steps", "seconds", "stopped", "converged", "selected_step")
        rows.append({"id": module.id, "stage": module.meta.get("stage"), **{k: history.get(k) for k in keys}})
    return rows


def cell_kind(src: str, tgt: str, decoder: StoredModule, encoder: StoredModule) -> str:
    """supervised: trained on this direction; plugged: a plug-in decoder on a direction it never saw;
    zero-shot: a jointly trained decoder on a direction never sampled; foreign: trained against
    another encoder."""
    if decoder.meta["encoder_fingerprint"] != encoder.meta["fingerprint"]:
        return FOREIGN
    if [src, tgt] in decoder.meta.get("pairs", []):
        return SUPERVISED
    return PLUGGED if decoder.meta.get("stage") == "plugin" else ZERO_SHOT


_BLEU = sacrebleu.metrics.BLEU()
_CHRF = sacrebleu.metrics.CHRF()


def score(hypotheses: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """Exact match, and chrF and BLEU from sacrebleu (corpus level, default settings)."""
    exact = float(np.mean([h == r for h, r in zip(hypotheses, references, strict=True)]))
    return {
        "exact": round(exact, 4),
        "chrf": round(_CHRF.corpus_score(list(hypotheses), [list(references)]).score, 2),
        "bleu": round(_BLEU.corpus_score(list(hypotheses), [list(references)]).score, 2),
    }


def signatures() -> dict[str, str]:
    """sacrebleu's signatures of the metrics `score` used (valid once it has scored something), and
    of the paired bootstrap once `paired_bootstrap` has run."""
    return {"bleu": str(_BLEU.get_signature()), "chrf": str(_CHRF.get_signature()), **_PAIRED_SIGNATURES}


Z95 = 1.959964  # the standard normal's 97.5% quantile


def wilson_interval(hits: int, n: int, z: float = Z95) -> list[float]:
    """The 95% Wilson score interval [lo, hi] of a proportion hits/n (sound at 0 and n, unlike p ± z·se)."""
    if n <= 0:
        return [0.0, 1.0]
    p = hits / n
    shrink = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / shrink
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / shrink
    return [round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)]


def exact_hits(hypotheses: Sequence[str], references: Sequence[str]) -> int:
    return sum(h == r for h, r in zip(hypotheses, references, strict=True))


# sacrebleu's paired bootstrap reads its seed from SACREBLEU_SEED; this fixed one makes a matrix
# repeatable. It must not be 0: PairedTest treats a seed of 0 as "no seed".
BOOTSTRAP_SEED = 12345
# sacrebleu's default; ~0.4 s a cell of 300 items: ~6 s for a default matrix's 16 non-supervised cells.
BOOTSTRAP_RESAMPLES = 1000
_PAIRED_SIGNATURES: dict[str, str] = {}


@contextmanager
def _bootstrap_settings(seed: int) -> Iterator[None]:
    """SACREBLEU_SEED set to `seed`, and sacrebleu's per-test progress messages silenced, meanwhile."""
    saved = os.environ.get("SACREBLEU_SEED")
    logger = logging.getLogger("sacrebleu")
    level = logger.level
    os.environ["SACREBLEU_SEED"] = str(seed)
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)
        if saved is None:
            os.environ.pop("SACREBLEU_SEED", None)
        else:
            os.environ["SACREBLEU_SEED"] = saved


def paired_bootstrap(
    hypotheses: Sequence[str],
    pivot_hypotheses: Sequence[str],
    references: Sequence[str],
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> dict[str, dict[str, Any]]:
    """sacrebleu's paired bootstrap test of a cell's hypotheses against its pivot's (same references).

    Per metric (bleu, chrf): the cell's and the pivot's bootstrap mean with its 95% interval
    (sacrebleu's: mean ± half the width between the 2.5% and 97.5% resamples), and the p-value of
    the difference. Identical outputs have no difference to test: p is 1.0 then (sacrebleu itself
    counts only larger differences and would report 1/(resamples+1)).
    """
    if not seed:
        raise ValueError("the bootstrap seed must not be 0: sacrebleu reads 0 as 'no seed'")
    hypotheses, pivot_hypotheses = list(hypotheses), list(pivot_hypotheses)
    with _bootstrap_settings(seed):
        test = PairedTest(
            [("pivot", pivot_hypotheses), ("cell", hypotheses)],
            {"bleu": sacrebleu.metrics.BLEU(), "chrf": sacrebleu.metrics.CHRF()},
            [list(references)],
            test_type="bs",
            n_samples=resamples,
        )
        names, results = test()
    identical = hypotheses == pivot_hypotheses

    def interval(result: Any) -> dict[str, Any]:
        mean, half = float(result.mean), float(result.ci)
        return {"mean": round(mean, 2), "ci": [round(mean - half, 2), round(mean + half, 2)]}

    paired = {}
    for key, name in zip(("bleu", "chrf"), names, strict=True):
        _PAIRED_SIGNATURES[f"{key}_paired_bootstrap"] = str(names[name])
        pivot, cell = results[name]
        p = 1.0 if identical else float(cell.p_value)
        paired[key] = {"cell": interval(cell), "pivot": interval(pivot), "p": round(p, 4)}
    return paired


def sample_rows(total: int, items: int | None, seed: int = 0) -> np.ndarray:
    """A fixed sample of test rows, spread over the whole split rather than its first groups;
    `items=None`: every row."""
    if items is None or items >= total:
        return np.arange(total)
    return np.sort(np.random.default_rng(seed).choice(total, size=items, replace=False))


def zero_shot_matrix(
    translator: Translator,
    corpus: Corpus,
    sources: Sequence[str] | None = None,
    decoders: Sequence[str] | None = None,
    split: str = "test",
    max_items: int | None = 300,
    batch_size: int = 256,
) -> Matrix:
    """Translate a fixed sample of `split` along every (source, decoder) cell and its pivot chain."""
    encoder = translator.encoder_module
    readable = list(encoder.meta.get("languages", []))
    sources = list(sources or [s for s in readable if s in corpus.languages])
    names = list(decoders or _newest_languages(translator))
    if not names:
        raise PlugmtError(f"no decoder in the store fits encoder {encoder.id}; train one first")
    plugged = {name: translator.plug(name) for name in names}
    rows = sample_rows(len(corpus.groups(split)), max_items)
    # Sources must be in the corpus (texts() says so in words); a decoder language it lacks is skipped.
    needed = set(sources) | {p.lang for p in plugged.values() if p.lang in corpus.languages}
    texts = {}
    for lang in sorted(needed):
        column = corpus.texts(split, lang)
        texts[lang] = [column[i] for i in rows]
    by_lang = {p.lang: p for p in plugged.values()}
    edges: set[Pair] = {tuple(p) for d in plugged.values() for p in d.module.meta.get("pairs", [])}
    memo: dict[tuple[str, ...], list[str]] = {}

    def along(path: Sequence[str]) -> list[str]:
        key = tuple(path)
        if key not in memo:
            inputs = texts[path[0]] if len(path) == 2 else along(path[:-1])
            memo[key] = by_lang[path[-1]].pipeline(inputs, batch_size)
        return memo[key]

    cells = []
    for src in sources:
        for decoder in plugged.values():
            tgt = decoder.lang
            if tgt == src or tgt not in texts:
                continue
            kind = cell_kind(src, tgt, decoder.module, encoder)
            references = texts[tgt]
            hypotheses = along([src, tgt])
            hits = exact_hits(hypotheses, references)
            cell = Cell(
                src,
                tgt,
                kind,
                len(rows),
                decoder=decoder.module.id,
                exact_ci=wilson_interval(hits, len(rows)),
                **score(hypotheses, references),
            )
            if kind != SUPERVISED:
                path = pivot_path(src, tgt, edges)
                if path and len(path) > 2:
                    cell.pivot = pivot_scores(path, hits, hypotheses, along(path), references)
            cells.append(cell)
            log.info(f"{src}→{tgt} {kind}: exact {cell.exact:.3f} chrF {cell.chrf:.1f}")
    diagnostics = thought_diagnostics(
        translator.encoder, translator.source_vocab, {lang: texts[lang] for lang in sources}
    )
    modules = [encoder, *(p.module for p in plugged.values())]
    return Matrix(encoder.id, split, cells, signatures(), diagnostics, training_record(modules))


def pivot_scores(
    path: Sequence[str],
    hits: int,
    hypotheses: Sequence[str],
    pivot_hypotheses: Sequence[str],
    references: Sequence[str],
) -> dict[str, Any]:
    """A non-supervised cell's pivot: its path and scores, and the cell measured against it (exact
    ÷ pivot exact, the cell's `hits` over the pivot's; sacrebleu's paired bootstrap for BLEU, chrF)."""
    pivot_hits = exact_hits(pivot_hypotheses, references)
    n = len(references)
    return {
        "path": list(path),
        **score(pivot_hypotheses, references),
        "exact_ci": wilson_interval(pivot_hits, n),
        "exact_ratio": round(hits / pivot_hits, 4) if pivot_hits else None,
        "paired_bootstrap": paired_bootstrap(hypotheses, pivot_hypotheses, references),
    }


def adapter_sample(corpus: Corpus, encoder: StoredModule, items: int) -> list[str]:
    """Training sentences, spread over the languages the encoder reads, to fit an adapter on."""
    languages = [lang for lang in encoder.meta.get("languages", []) if lang in corpus.languages]
    per_language = max(1, items // max(1, len(languages)))
    rows = sample_rows(len(corpus.groups("train")), per_language)
    return [text for lang in languages for text in (corpus.texts("train", lang)[i] for i in rows)]


def _newest_languages(translator: Translator) -> list[str]:
    """Every language with a decoder trained against this encoder."""
    encoder_id = translator.encoder_module.id
    return sorted({str(d.meta["lang"]) for d in translator.store.decoders(encoder_id)})
