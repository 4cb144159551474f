"""Training: the joint stage (shared encoder + decoders) and the plug-in stage (frozen encoder)."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from omegaconf import DictConfig, OmegaConf

from plugmt.corpora.batches import MultiTargetBatches
from plugmt.corpora.corpus import Corpus, load_corpus
from plugmt.corpora.pairs import Pair, pair_name, parse_pairs
from plugmt.corpora.shares import training_shares
from plugmt.corpora.vocab import Vocab
from plugmt.errors import PlugmtError
from plugmt.registry import Store, StoredModule, build_decoder, build_encoder
from plugmt.workflows.distribute import make_strategy, scope, worker_suffix
from plugmt.workflows.monitor import Monitor, pairs_validator
from plugmt.workflows.resume import remove_run, run_folder
from plugmt.workflows.runtime import seed_everything
from plugmt.workflows.trainer import TrainSettings, fit, train_settings
from plugmt.workflows.translator import Pipeline

log = logging.getLogger("plugmt.train")


# --------------------------------------------------------------------------- shared preparation


def _steps(settings: TrainSettings, rows: int, pairs: Sequence[Pair], batches: MultiTargetBatches) -> int:
    """train.steps, or enough batches for `epochs` passes over (training meanings x directions)."""
    if settings.steps is not None:
        return int(settings.steps)
    per_batch = settings.batch_size * batches.directions_per_batch()
    return max(1, math.ceil(settings.epochs * rows * len(pairs) / per_batch))


def _max_len(target_ids: np.ndarray) -> int:
    """Decoding limit: the longest training target with some room to spare."""
    return int(target_ids.shape[1] * 1.5) + 4


def _validate(
    corpus: Corpus, pipelines: Mapping[str, Pipeline], pairs: Sequence[Pair], items: int
) -> dict[Pair, float]:
    """Exact match on a fixed sample of the validation split for each trained direction."""
    from plugmt.workflows.evaluation import sample_rows

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


def _fit_and_validate(
    cfg: DictConfig,
    settings: TrainSettings,
    corpus: Corpus,
    pairs: Sequence[Pair],
    encoder: Any,
    source_vocab: Vocab,
    decoders: Mapping[str, Any],
    target_vocabs: Mapping[str, Vocab],
    train_encoder: bool,
    stage: str,
    description: str,
    strategy: tf.distribute.Strategy | None = None,
    run_dir: Path | None = None,
) -> tuple[dict[str, Any], dict[Pair, float], dict[str, int]]:
    """What both stages do once their modules exist: tokenise once, train, validate.

    Returns the training history, validation exact match per direction, and each decoder's
    decoding length limit.
    """
    sources = sorted({s for s, _ in pairs})
    source_ids = {s: source_vocab.encode_padded(corpus.texts("train", s)) for s in sources}
    target_ids = {t: target_vocabs[t].encode_padded(corpus.texts("train", t), add_eos=True) for t in decoders}
    batches = MultiTargetBatches(
        source_ids,
        target_ids,
        corpus.groups("train"),
        pairs,
        list(decoders),
        settings.batch_size,
        cfg.seed,
        two_sources=train_encoder,
        temperature=settings.temperature,
        # XLA compiles a program per shape: round lengths so few shapes exist.
        length_multiple=8 if settings.jit_compile else 1,
        shares=training_shares(cfg.data, corpus.keys("train"), pairs, settings.batch_size),
    )
    steps = _steps(settings, batches.rows_per_direction(), pairs, batches)
    log.info(f"{stage}: {description}; {steps} steps of {settings.batch_size}")
    max_lens = {t: _max_len(target_ids[t]) for t in decoders}
    pipelines = {
        t: Pipeline(encoder, source_vocab, d, target_vocabs[t], max_lens[t]) for t, d in decoders.items()
    }
    layers = {f"decoder-{t}": d for t, d in decoders.items()}
    if train_encoder:
        layers["encoder"] = encoder
    monitor = _monitor(corpus, pipelines, pairs, settings, layers)
    history = fit(
        encoder, decoders, batches, steps, settings, train_encoder, stage, strategy, run_dir, monitor
    )
    if monitor is not None:
        if not monitor.history or monitor.history[-1].step != history["steps"]:
            monitor.check(history["steps"])  # the last weights are candidates too
        monitor.restore_best()
        history.update(monitor.record())
    return history, _validate(corpus, pipelines, pairs, settings.eval_items), max_lens


def _monitor(
    corpus: Corpus,
    pipelines: Mapping[str, Pipeline],
    pairs: Sequence[Pair],
    settings: TrainSettings,
    layers: Mapping[str, Any],
) -> Monitor | None:
    """Periodic validation (train.validate_every) on a fixed sample of the validation split."""
    if not settings.validate_every and not settings.tensorboard:
        return None
    from plugmt.workflows.evaluation import sample_rows

    rows = sample_rows(len(corpus.groups("valid")), settings.eval_items)
    column = {}
    for lang in {lang for pair in pairs for lang in pair}:
        texts = corpus.texts("valid", lang)
        column[lang] = [texts[i] for i in rows]
    validate = pairs_validator(pipelines, column, column, pairs)
    if settings.select not in ("loss", "chrf"):
        raise PlugmtError(f"train.select={settings.select!r} is not one of: loss, chrf")
    return Monitor(
        validate,
        layers,
        settings.validate_every,
        settings.patience,
        settings.tensorboard,
        select=settings.select,
        min_delta=settings.min_delta,
    )


def _run_dir(
    store: Store, stage: str, cfg: DictConfig, strategy: Any, extra: Mapping[str, Any] | None = None
) -> Path:
    """This stage's checkpoint folder; other workers of a multi-worker run keep theirs apart."""
    folder = run_folder(store.root, stage, cfg, extra)
    suffix = worker_suffix(strategy)
    return folder / suffix if suffix else folder


def _summary(validation: Mapping[Pair, float]) -> str:
    return ", ".join(f"{pair_name(p)} {v:.3f}" for p, v in validation.items())


def vocab_for(corpus: Corpus, langs: Sequence[str], cfg: DictConfig, shared: bool = False) -> Vocab:
    """One language's vocabulary (data.vocab_size), or the encoder's, shared by its source
    languages (data.source_vocab_size, default the same)."""
    texts = [t for lang in langs for t in corpus.texts("train", lang)]
    size = cfg.data.get("source_vocab_size") if shared else None
    size = int(size or cfg.data.vocab_size)
    data = cfg.data
    digits, isolate = bool(data.get("split_digits", False)), str(data.get("isolate") or "")
    return Vocab.cached(texts, str(data.vocab_type), size, data.get("cache_dir"), digits, isolate)


def _record(cfg: DictConfig, stage: str, pairs: Sequence[Pair], history: Mapping[str, Any]) -> dict:
    import babel

    return {
        "stage": stage,
        "pairs": [list(p) for p in pairs],
        "corpus": OmegaConf.to_container(cfg.data, resolve=True),
        "seed": int(cfg.seed),
        "training": dict(history),
        "versions": {
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "babel": babel.__version__,
        },
    }


# --------------------------------------------------------------------------- the two stages


def train_joint(cfg: DictConfig, store: Store) -> tuple[StoredModule, list[StoredModule]]:
    """Train a shared encoder with one decoder per target language of `data.pairs`; store them."""
    settings = train_settings(cfg)
    store.check_writable()  # before any work: a store that cannot keep the result loses it all
    seed_everything(cfg.seed)
    corpus = load_corpus(cfg.data)
    pairs = parse_pairs(cfg.data.pairs, corpus.languages, corpus.target_only, cfg.data.get("zero_shot") or ())
    sources = sorted({s for s, _ in pairs})
    targets = sorted({t for _, t in pairs})
    if settings.identity_pairs:
        # x -> x for every language both read and written: each decoder also learns to read its own
        # language's thoughts, not only the thoughts of the languages it translates from.
        pairs = pairs + [(lang, lang) for lang in sources if lang in targets]
    source_vocab = vocab_for(corpus, sources, cfg, shared=True)
    target_vocabs = {t: vocab_for(corpus, [t], cfg) for t in targets}
    strategy = make_strategy(settings.strategy)
    with scope(strategy):
        encoder = build_encoder(cfg.encoder, source_vocab.size)
        decoders = {
            t: build_decoder({**cfg.decoder, "lang": t}, target_vocabs[t].size, encoder.thought_spec())
            for t in targets
        }
    run_dir = _run_dir(store, "joint", cfg, strategy)
    retried = run_dir.exists()  # an earlier attempt may have stored modules before it was killed
    history, validation, max_lens = _fit_and_validate(
        cfg,
        settings,
        corpus,
        pairs,
        encoder,
        source_vocab,
        decoders,
        target_vocabs,
        train_encoder=True,
        stage="joint",
        description=f"encoder {cfg.encoder.name} over {', '.join(sources)}; decoders "
        f"{', '.join(targets)}; {len(pairs)} directions",
        strategy=strategy,
        run_dir=run_dir,
    )
    encoder_module = store.save_encoder(
        encoder, source_vocab, {**_record(cfg, "joint", pairs, history), "languages": sources}
    )
    decoder_modules = []
    for t in targets:
        own_pairs = [p for p in pairs if p[1] == t]
        record = _record(cfg, "joint", own_pairs, history)
        record.update(
            lang=t,
            max_len=max_lens[t],
            metrics={"valid_exact": {pair_name(p): validation[p] for p in own_pairs}},
        )
        decoder_modules.append(
            store.save_decoder(decoders[t], target_vocabs[t], encoder_module, record, reuse_twin=retried)
        )
    remove_run(run_dir)  # only now: a kill before this resumes, and the re-run stores no twins
    log.info(
        f"joint done in {history['seconds']}s: encoder {encoder_module.id}; "
        f"valid exact {_summary(validation)}"
    )
    return encoder_module, decoder_modules


def train_plugin(
    cfg: DictConfig, store: Store, lang: str | None = None, pair_spec: Any = None
) -> StoredModule:
    """Train one new decoder for `lang` on `pair_spec` against the stored encoder, kept frozen.

    The run holds the encoder's use lock from loading it to storing the decoder, so `plugmt-registry
    remove` refuses the encoder meanwhile (unless forced; the decoder is then refused at saving).
    """
    settings = train_settings(cfg)
    store.check_writable()  # before any work: a store that cannot keep the result loses it all
    seed_everything(cfg.seed)
    lang = lang or cfg.decoder.get("lang")
    if not lang:
        raise PlugmtError("train.mode=plugin needs the new decoder's language: decoder.lang=<lang>")
    corpus = load_corpus(cfg.data)
    pairs = parse_pairs(
        pair_spec if pair_spec is not None else cfg.data.pairs, corpus.languages, corpus.target_only
    )
    for src, tgt in pairs:
        if tgt != lang:
            raise PlugmtError(
                f"data.pairs entry {src}-{tgt} targets {tgt!r}, but this plug-in run trains only the "
                f"{lang!r} decoder; use data.pairs=[<src>-{lang}]"
            )
    encoder_module = store.encoder(cfg.get("encoder_id"))
    readable = encoder_module.meta.get("languages", [])
    for src, _ in pairs:
        if src not in readable:
            raise PlugmtError(
                f"encoder {encoder_module.id} was trained to read {', '.join(readable)}, not {src!r}; "
                f"pick a source it reads in data.pairs"
            )
    with store.using_encoder(encoder_module):
        return _train_plugin(cfg, store, settings, corpus, lang, pairs, encoder_module)


def _train_plugin(
    cfg: DictConfig,
    store: Store,
    settings: TrainSettings,
    corpus: Corpus,
    lang: str,
    pairs: Sequence[Pair],
    encoder_module: StoredModule,
) -> StoredModule:
    encoder, source_vocab = store.load_encoder(encoder_module)
    encoder.trainable = False  # and its variables are left out of every gradient
    target_vocab = vocab_for(corpus, [lang], cfg)
    strategy = make_strategy(settings.strategy)
    with scope(strategy):
        decoder = build_decoder({**cfg.decoder, "lang": lang}, target_vocab.size, encoder.thought_spec())
    extra = {"lang": lang, "pairs": [list(p) for p in pairs], "encoder": encoder_module.id}
    run_dir = _run_dir(store, "plugin", cfg, strategy, extra)
    retried = run_dir.exists()
    history, validation, max_lens = _fit_and_validate(
        cfg,
        settings,
        corpus,
        pairs,
        encoder,
        source_vocab,
        {lang: decoder},
        {lang: target_vocab},
        train_encoder=False,
        stage="plugin",
        description=f"new {lang} decoder on {', '.join(map(pair_name, pairs))} against frozen "
        f"encoder {encoder_module.id}",
        strategy=strategy,
        run_dir=run_dir,
    )
    record = _record(cfg, "plugin", pairs, history)
    record.update(
        lang=lang,
        max_len=max_lens[lang],
        metrics={"valid_exact": {pair_name(p): v for p, v in validation.items()}},
    )
    module = store.save_decoder(decoder, target_vocab, encoder_module, record, reuse_twin=retried)
    remove_run(run_dir)
    log.info(f"plugin done in {history['seconds']}s: decoder {module.id}; valid exact {_summary(validation)}")
    return module
