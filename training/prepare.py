"""What both training stages prepare around the loop: vocabularies, step counts, decoding limits,
validation, checkpoint folders, the record stored with each module, seeds."""

from __future__ import annotations

import functools
import hashlib
import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
from omegaconf import DictConfig, OmegaConf

from plugmt.corpora.batches import MultiTargetBatches
from plugmt.corpora.corpus import Corpus, sample_rows
from plugmt.corpora.pairs import Pair, pair_name, parse_pairs
from plugmt.corpora.shares import training_shares
from plugmt.corpora.variants import VariantIds
from plugmt.corpora.vocab import Vocab
from plugmt.errors import PlugmtError
from plugmt.inference.translator import Pipeline
from plugmt.storage import Store
from plugmt.training.checkpoints import run_folder
from plugmt.training.distribute import worker_suffix
from plugmt.training.monitor import Monitor
from plugmt.training.settings import TrainSettings
from plugmt.training.validation import pairs_validator, unseen_directions

log = logging.getLogger("plugmt.train")


def steps_for(settings: TrainSettings, rows: int, pairs: Sequence[Pair], batches: MultiTargetBatches) -> int:
    """train.steps, or enough batches for `epochs` passes over (training meanings x directions)."""
    if settings.steps is not None:
        return int(settings.steps)
    per_batch = batches.expected_rows() * batches.directions_per_batch()
    return max(1, math.ceil(settings.epochs * rows * len(pairs) / per_batch))


def max_len_for(target_ids: np.ndarray) -> int:
    """Decoding limit: the longest training target with some room to spare."""
    return int(target_ids.shape[1] * 1.5) + 4


def check_positions(role: str, layer: Any, ids: Mapping[str, np.ndarray]) -> None:
    """Refuse, before training, text longer than a table of learned positions (`max_len` rows)."""
    config = getattr(layer, "config", None)
    if getattr(config, "positions", None) != "learned" or getattr(config, "body", None) == "lstm":
        return
    for lang, rows in ids.items():
        if rows.shape[1] > int(config.max_len):
            raise PlugmtError(
                f"the longest {lang} training text is {rows.shape[1]} tokens, longer than {role}.max_len="
                f"{config.max_len} learned positions: raise {role}.max_len or use {role}.positions=sinusoidal"
            )


def validate_exact(
    corpus: Corpus, pipelines: Mapping[str, Pipeline], pairs: Sequence[Pair], items: int
) -> dict[Pair, float]:
    """Exact match on a fixed sample of the validation split for each trained direction."""
    rows = sample_rows(len(corpus.groups("valid")), items)
    column = {lang: corpus.texts("valid", lang) for lang in {lang for pair in pairs for lang in pair}}
    scores = {}
    for src, tgt in pairs:
        hypotheses = pipelines[tgt]([column[src][i] for i in rows])
        references = [column[tgt][i] for i in rows]
        scores[src, tgt] = round(
            float(np.mean([h == r for h, r in zip(hypotheses, references, strict=True)])), 4
        )
    return scores


def make_monitor(
    corpus: Corpus,
    pipelines: Mapping[str, Pipeline],
    pairs: Sequence[Pair],
    settings: TrainSettings,
    layers: Mapping[str, Any],
    run_name: str,
) -> Monitor | None:
    """Periodic validation (train.validate_every) on a fixed sample of the validation split; its
    TensorBoard curves go to `<train.tensorboard>/<run_name>` (one run per stage, e.g. `joint`,
    `plugin-es`), so stages neither share tags nor restart each other's steps."""
    if not settings.validate_every and not settings.tensorboard:
        return None
    rows = sample_rows(len(corpus.groups("valid")), settings.eval_items)
    column = {}
    for lang in {lang for pair in pairs for lang in pair}:
        texts = corpus.texts("valid", lang)
        column[lang] = [texts[i] for i in rows]
    unseen = unseen_directions(pairs, list(pipelines)) if settings.watch_unseen else {}
    if unseen:
        names = [pair_name(p) + (f" (pivot {'-'.join(path)})" if path else "") for p, path in unseen.items()]
        log.info(f"watching unseen directions at each validation, not part of the score: {', '.join(names)}")
    validate = pairs_validator(pipelines, column, column, pairs, unseen)
    if settings.select not in ("loss", "chrf"):
        raise PlugmtError(f"train.select={settings.select!r} is not one of: loss, chrf")
    return Monitor(
        validate,
        layers,
        settings.validate_every,
        settings.patience,
        str(Path(settings.tensorboard) / run_name) if settings.tensorboard else None,
        select=settings.select,
        min_delta=settings.min_delta,
        average_last=settings.average_last,
    )


def run_dir_for(
    store: Store, stage: str, cfg: DictConfig, strategy: Any, extra: Mapping[str, Any] | None = None
) -> Path:
    """This stage's checkpoint folder; other workers of a multi-worker run keep theirs apart."""
    folder = run_folder(store.root, stage, cfg, extra)
    suffix = worker_suffix(strategy)
    return folder / suffix if suffix else folder


def summary(validation: Mapping[Pair, float]) -> str:
    return ", ".join(f"{pair_name(p)} {v:.3f}" for p, v in validation.items())


def batch_stream(
    cfg: DictConfig,
    settings: TrainSettings,
    corpus: Corpus,
    pairs: Sequence[Pair],
    source_ids: dict[str, np.ndarray],
    target_ids: dict[str, np.ndarray],
    decoders: Sequence[str],
    two_sources: bool,
    variants: VariantIds | None = None,
) -> MultiTargetBatches:
    """A stage's seeded stream of training batches over `pairs`, as train.* and data.* configure it."""
    return MultiTargetBatches(
        source_ids,
        target_ids,
        corpus.groups("train"),
        pairs,
        list(decoders),
        settings.batch_size,
        cfg.seed,
        two_sources=two_sources,
        temperature=settings.temperature,
        # XLA compiles a program per shape: round lengths so few shapes exist.
        length_multiple=8 if settings.jit_compile else 1,
        shares=training_shares(cfg.data, corpus.keys("train"), pairs, settings.batch_size),
        batch_tokens=settings.batch_tokens,
        variants=variants,
    )


def joint_directions(
    cfg: DictConfig, corpus: Corpus, settings: TrainSettings
) -> tuple[list[Pair], list[str], list[str]]:
    """The joint stage's directions (data.pairs, with x -> x for every language both read and
    written under train.identity_pairs: each decoder also learns to read its own language's
    thoughts), and its sorted source and target languages."""
    zero_shot = cfg.data.get("zero_shot") or ()
    pairs = parse_pairs(cfg.data.pairs, corpus.languages, corpus.target_only, zero_shot)
    sources = sorted({s for s, _ in pairs})
    targets = sorted({t for _, t in pairs})
    if settings.identity_pairs:
        pairs = with_identity(pairs, sources, targets)
    return pairs, sources, targets


def with_identity(pairs: Sequence[Pair], read: Sequence[str], written: Sequence[str]) -> list[Pair]:
    """`pairs` and x -> x for every language x both read (in `read`'s order) and written, once:
    under train.identity_pairs each decoder also learns to write back thoughts of its own language."""
    return [*pairs, *((x, x) for x in read if x in written and (x, x) not in pairs)]


def vocab_for(corpus: Corpus, langs: Sequence[str], cfg: DictConfig, shared: bool = False) -> Vocab:
    """One language's vocabulary (data.vocab_size), or the encoder's, shared by its source
    languages (data.source_vocab_size, default the same)."""
    texts = [t for lang in langs for t in corpus.texts("train", lang)]
    size = cfg.data.get("source_vocab_size") if shared else None
    size = int(size or cfg.data.vocab_size)
    data = cfg.data
    digits, isolate = bool(data.get("split_digits", False)), str(data.get("isolate") or "")
    return Vocab.cached(texts, str(data.vocab_type), size, data.get("cache_dir"), digits, isolate)


def stage_record(
    cfg: DictConfig, stage: str, pairs: Sequence[Pair], history: Mapping[str, Any], corpus: Corpus
) -> dict:
    """What a stored module says of how it was made (its model card's data, in meta.json): the stage,
    pairs, corpus settings and a hash of the training text it read, the seed, every train.* setting,
    the training history, the versions of what trained it and the plugmt commit when known."""
    from importlib import metadata

    langs = sorted({lang for pair in pairs for lang in pair})
    digest = hashlib.sha256()
    for lang in langs:
        digest.update(f"\0{lang}\0".encode())
        digest.update("\n".join(corpus.texts("train", lang)).encode())
    versions = {}
    for package in ("plugmt", "tensorflow", "keras", "sentencepiece", "numpy", "babel", "sacrebleu"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "unknown"
    return {
        "stage": stage,
        "pairs": [list(p) for p in pairs],
        "corpus": OmegaConf.to_container(cfg.data, resolve=True),
        "corpus_hash": f"{corpus.name}:{','.join(langs)}:{digest.hexdigest()[:16]}",
        "seed": int(cfg.seed),
        # The stage it ran as (plugmt-run runs both stages under one train.mode).
        "settings": {**OmegaConf.to_container(cfg.train, resolve=True, enum_to_str=True), "mode": stage},
        "training": dict(history),
        "versions": versions,
        "commit": source_commit(),
    }


@functools.cache
def source_commit() -> str | None:
    """The git commit plugmt runs from (with `+changes` when its files differ from it), when known."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
        if head.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip()[:12] + ("+changes" if dirty.stdout.strip() else "")


def seed_everything(seed: int) -> None:
    """Python's, NumPy's and TensorFlow's generators, all from one seed."""
    keras.utils.set_random_seed(int(seed))
