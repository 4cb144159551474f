"""The zero-shot matrix: every source x target cell, labelled, scored, beside its pivot baseline."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from plugmt.corpora.corpus import Corpus, sample_rows
from plugmt.corpora.pairs import Pair, path_decoder, pivot_path
from plugmt.errors import PlugmtError
from plugmt.evaluation.metrics import (
    bootstrap_interval,
    exact_gap,
    exact_hits,
    hits_by_group,
    paired_bootstrap,
    score,
    signatures,
    wilson_interval,
)
from plugmt.progress import eta
from plugmt.storage import StoredModule
from plugmt.storage.module import space_of
from plugmt.storage.spaces import space_members

if TYPE_CHECKING:  # TensorFlow is imported where a model runs: reading a matrix (report, study) needs none
    from plugmt.inference.translator import Translator

log = logging.getLogger("plugmt.eval")

SUPERVISED, ZERO_SHOT, PLUGGED, FOREIGN = "supervised", "zero-shot", "plugged", "foreign"
# A student encoder's row (train.mode=student): through a decoder of the joint stage, or a plug-in one.
PLUGGED_SOURCE, PLUGGED_BOTH = "plugged-source", "plugged-both"
# The order every report lists cell kinds in (the matrix, its groups table, the study and its figure).
KINDS = (SUPERVISED, ZERO_SHOT, PLUGGED, PLUGGED_SOURCE, PLUGGED_BOTH, FOREIGN)


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
    # sacrebleu's bootstrap 95% intervals over the n items (a cell with a pivot: from the paired test)
    bleu_ci: list[float] | None = None
    chrf_ci: list[float] | None = None
    # Exact match by the corpus's group (phrasebook family; a file corpus's length band), {group:
    # [hits, items]}: where a cell fails. None when the sample holds one group only.
    by_group: dict[str, list[int]] | None = None


@dataclass
class Matrix:
    encoder: str
    split: str
    cells: list[Cell]
    signatures: dict[str, str] = field(default_factory=dict)
    diagnostics: list[dict[str, Any]] = field(default_factory=list)
    training: list[dict[str, Any]] = field(default_factory=list)
    # How every cell and pivot hop was decoded: {"beam_size": 1, "length_penalty": 0.0} is greedy
    search: dict[str, Any] = field(default_factory=dict)
    # diagnostics.group_distances: {src, to, group, n, distance} (a matrix split by group)
    distances: list[dict[str, Any]] = field(default_factory=list)
    # The lines scored, by file name: every path's outputs ("de-fr.txt", its pivot "de-en-fr.txt") and
    # each target's references ("reference.fr.txt"), in item order; the report writes them to translations/
    translations: dict[str, list[str]] = field(default_factory=dict, repr=False, compare=False)
    # diagnostics.space_report: {src: mean slot overlap} for sources read by an encoder with slots
    slot_overlap: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "encoder": self.encoder,
            "split": self.split,
            "search": self.search,
            "signatures": self.signatures,
            "cells": [asdict(c) for c in self.cells],
            "thought_diagnostics": self.diagnostics,
            "thought_distances": self.distances,
            "slot_overlap": self.slot_overlap,
            "training": self.training,
        }

    def search_text(self) -> str:
        """How the cells were decoded, in words ("greedy decoding", "beam 5 with length penalty 1.0";
        "" for a matrix that does not say): the report's first line and the figure's title."""
        if not self.search:
            return ""
        if int(self.search["beam_size"]) == 1:
            return "greedy decoding"
        return f"beam {self.search['beam_size']} with length penalty {self.search['length_penalty']}"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Matrix:
        """A matrix back from its matrix.json (keys a Cell does not know are left out)."""
        known = set(Cell.__dataclass_fields__)
        cells = [Cell(**{k: v for k, v in c.items() if k in known}) for c in data["cells"]]
        return cls(
            data["encoder"],
            data["split"],
            cells,
            data.get("signatures") or {},
            data.get("thought_diagnostics") or [],
            data.get("training") or [],
            data.get("search") or {},
            data.get("thought_distances") or [],
            slot_overlap=data.get("slot_overlap") or {},
        )

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
    another encoder; read by a student encoder (`encoder`): plugged-source, or plugged-both when
    the decoder is a plug-in one too."""
    if decoder.meta["encoder_fingerprint"] != space_of(encoder.meta):
        return FOREIGN
    if encoder.meta.get("space"):
        return PLUGGED_BOTH if decoder.meta.get("stage") == "plugin" else PLUGGED_SOURCE
    if [src, tgt] in decoder.meta.get("pairs", []):
        return SUPERVISED
    return PLUGGED if decoder.meta.get("stage") == "plugin" else ZERO_SHOT


def zero_shot_matrix(
    translator: Translator,
    corpus: Corpus,
    sources: Sequence[str] | None = None,
    decoders: Sequence[str] | None = None,
    split: str = "test",
    max_items: int | None = 300,
    batch_size: int = 256,
) -> Matrix:
    """Translate a fixed sample of `split` along every (source, decoder) cell and its pivot chain.

    Rows: the encoder's languages and those of every student of its thought space (each read by
    the student, `Translator.member`); a student's pivot goes through the language it was distilled
    from (its first hop read by the student, the rest by the encoder)."""
    encoder = translator.encoder_module
    students = [
        m for m in space_members(translator.store, encoder) if m.meta.get("space") and m.id != encoder.id
    ]
    readable = list(encoder.meta.get("languages", []))
    readable += [x for m in students for x in m.meta.get("languages", [])]
    # One row per language: two students of one language read it as `source=` does (the newest).
    sources = list(dict.fromkeys(sources or [s for s in readable if s in corpus.languages]))
    readers = {src: translator.member(src) for src in sources}
    names = list(decoders or _newest_languages(translator))
    if not names:
        raise PlugmtError(f"no decoder in the store fits encoder {encoder.id}; train one first")
    plugged = {name: translator.plug(name) for name in names}
    labels = corpus.groups(split)
    rows = sample_rows(len(labels), max_items)
    sample_groups = [labels[i] for i in rows]
    several_groups = len(set(sample_groups)) > 1  # one group: nothing to split a cell by
    # Sources must be in the corpus (texts() says so in words); a decoder language it lacks is skipped.
    needed = set(sources) | {p.lang for p in plugged.values() if p.lang in corpus.languages}
    texts = {}
    for lang in sorted(needed):
        column = corpus.texts(split, lang)
        texts[lang] = [column[i] for i in rows]
    by_lang = {p.lang: p for p in plugged.values()}
    edges: set[Pair] = {tuple(p) for d in plugged.values() for p in d.module.meta.get("pairs", [])}
    edges |= {tuple(p) for m in students for p in m.meta.get("pairs", [])}  # e.g. (it, en)
    # The source is read by the encoder of the space that reads it, into the very decoder the cell
    # names (eval.decoders may name one by id); each later hop by the encoder's own.
    memo: dict[tuple[str, ...], list[str]] = {}
    along = path_decoder(
        lambda src, tgt: readers[src].plug(by_lang[tgt].module.id).pipeline(texts[src], batch_size),
        lambda tgt, hypotheses: by_lang[tgt].pipeline(hypotheses, batch_size),
        memo,
    )

    cells = []
    todo = [(s, d) for s in sources for d in plugged.values() if d.lang != s and d.lang in texts]
    started = time.perf_counter()
    for number, (src, decoder) in enumerate(todo, 1):
        tgt = decoder.lang
        kind = cell_kind(src, tgt, decoder.module, readers[src].encoder_module)
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
            **score(hypotheses, references, tgt),
        )
        if several_groups:
            cell.by_group = hits_by_group(hypotheses, references, sample_groups)
        if kind != SUPERVISED:
            path = pivot_path(src, tgt, edges)
            if path and len(path) > 2:
                cell.pivot = pivot_scores(path, hits, hypotheses, along(path), references, tgt)
        paired = (cell.pivot or {}).get("paired_bootstrap")
        if paired:
            cell.bleu_ci, cell.chrf_ci = paired["bleu"]["cell"]["ci"], paired["chrf"]["cell"]["ci"]
        else:
            intervals = bootstrap_interval(hypotheses, references, lang=tgt)
            cell.bleu_ci, cell.chrf_ci = intervals["bleu"], intervals["chrf"]
        cells.append(cell)
        log.info(
            f"cell {number}/{len(todo)} {src}→{tgt} {kind}: exact {cell.exact:.3f} chrF {cell.chrf:.1f}"
            f"{eta(number, len(todo), time.perf_counter() - started)}"
        )
    from plugmt.evaluation.diagnostics import space_report

    # Retrieval between sources, and where a cell fails, how far its source's thoughts are from English's
    distance_groups = sample_groups if several_groups else None
    diagnostics, distances, overlaps = space_report(translator, readers, texts, distance_groups)
    # The encoders that read a row (two students of one language: only the one that read it).
    modules = list({m.id: m for m in [encoder, *(r.encoder_module for r in readers.values())]}.values())
    modules += [p.module for p in plugged.values()]
    search = {"beam_size": translator.beam_size, "length_penalty": translator.length_penalty}
    translations = {"-".join(path) + ".txt": lines for path, lines in memo.items()}
    translations |= {f"reference.{c.tgt}.txt": texts[c.tgt] for c in cells}
    return Matrix(
        encoder.id,
        split,
        cells,
        signatures(),
        diagnostics,
        training_record(modules),
        search=search,
        distances=distances,
        translations=translations,
        slot_overlap=overlaps,
    )


def pivot_scores(
    path: Sequence[str],
    hits: int,
    hypotheses: Sequence[str],
    pivot_hypotheses: Sequence[str],
    references: Sequence[str],
    lang: str | None = None,
) -> dict[str, Any]:
    """A non-supervised cell's pivot: its path and scores, and the cell measured against it (exact
    ÷ pivot exact, the cell's `hits` over the pivot's; the exact-match gap with its paired interval;
    sacrebleu's paired bootstrap for BLEU, chrF)."""
    pivot_hits = exact_hits(pivot_hypotheses, references)
    n = len(references)
    return {
        "path": list(path),
        **score(pivot_hypotheses, references, lang),
        "exact_ci": wilson_interval(pivot_hits, n),
        "exact_ratio": round(hits / pivot_hits, 4) if pivot_hits else None,
        "exact_gap": exact_gap(hypotheses, pivot_hypotheses, references),
        "paired_bootstrap": paired_bootstrap(hypotheses, pivot_hypotheses, references, lang=lang),
    }


def adapter_sample(corpus: Corpus, encoder: StoredModule, items: int) -> dict[str, list[str]]:
    """Training sentences, `items` spread over the languages the encoder reads, to fit an adapter on
    (a foreign decoder's map uses those its own encoder reads too)."""
    languages = [lang for lang in encoder.meta.get("languages", []) if lang in corpus.languages]
    per_language = max(1, items // max(1, len(languages)))
    rows = sample_rows(len(corpus.groups("train")), per_language)
    return {lang: [corpus.texts("train", lang)[i] for i in rows] for lang in languages}


def _newest_languages(translator: Translator) -> list[str]:
    """Every language with a decoder trained against this encoder."""
    encoder_id = translator.encoder_module.id
    return sorted({str(d.meta["lang"]) for d in translator.store.decoders(encoder_id)})
