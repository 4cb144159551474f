"""Training: the joint stage (shared encoder + decoders) and the plug-in stage (frozen encoder)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import tensorflow as tf
from omegaconf import DictConfig

from plugmt.corpora.corpus import Corpus, load_corpus
from plugmt.corpora.pairs import Pair, pair_name, parse_pairs
from plugmt.corpora.variants import source_variant_ids
from plugmt.corpora.vocab import Vocab
from plugmt.errors import PlugmtError
from plugmt.inference.translator import Pipeline
from plugmt.layers.precision import precision
from plugmt.registry import build_decoder, build_encoder, load_encoder
from plugmt.storage import Store, StoredModule
from plugmt.training.checkpoints import claim_run, remove_run
from plugmt.training.distribute import make_strategy, scope
from plugmt.training.loop import fit
from plugmt.training.prepare import (
    batch_stream,
    check_positions,
    joint_directions,
    make_monitor,
    max_len_for,
    run_dir_for,
    seed_everything,
    stage_record,
    steps_for,
    summary,
    validate_exact,
    vocab_for,
)
from plugmt.training.settings import TrainSettings, train_settings

log = logging.getLogger("plugmt.train")


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
    variants = source_variant_ids(
        corpus, settings.source_variants, settings.variant_rate, source_ids, source_vocab.encode_padded
    )
    check_positions("encoder", encoder, source_ids)
    for t, decoder in decoders.items():
        check_positions("decoder", decoder, {t: target_ids[t]})
    batches = batch_stream(
        cfg, settings, corpus, pairs, source_ids, target_ids, decoders, train_encoder, variants
    )
    for lang, (rate, count, _) in variants.items():
        have = int((count > 0).sum())
        log.info(
            f"{stage}: {lang} sources read in another rendering {rate:.0%} of the time ({have} rows have one)"
        )
    steps = steps_for(settings, batches.rows_per_direction(), pairs, batches)
    size = (
        f"~{batches.expected_rows():.0f} rows (train.batch_tokens={settings.batch_tokens})"
        if settings.batch_tokens
        else f"{settings.batch_size}"
    )
    log.info(f"{stage}: {description}; {steps} steps of {size}")
    max_lens = {t: max_len_for(target_ids[t]) for t in decoders}
    pipelines = {
        t: Pipeline(encoder, source_vocab, d, target_vocabs[t], max_lens[t]) for t, d in decoders.items()
    }
    layers = {f"decoder-{t}": d for t, d in decoders.items()}
    if train_encoder:
        layers["encoder"] = encoder
    run_name = stage if train_encoder else f"{stage}-{'-'.join(decoders)}"
    monitor = make_monitor(corpus, pipelines, pairs, settings, layers, run_name)
    history = fit(
        encoder, decoders, batches, steps, settings, train_encoder, stage, strategy, run_dir, monitor
    )
    if monitor is not None:
        if not monitor.history or monitor.history[-1].step != history["steps"]:
            monitor.check(history["steps"])  # the last weights are candidates too
        monitor.restore_best()
        history.update(monitor.record())
    return history, validate_exact(corpus, pipelines, pairs, settings.eval_items), max_lens


def train_joint(cfg: DictConfig, store: Store) -> tuple[StoredModule, list[StoredModule]]:
    """Train a shared encoder with one decoder per target language of `data.pairs`; store them."""
    settings = train_settings(cfg)
    store.check_writable()  # before any work: a store that cannot keep the result loses it all
    seed_everything(cfg.seed)
    corpus = load_corpus(cfg.data)
    pairs, sources, targets = joint_directions(cfg, corpus, settings)
    source_vocab = vocab_for(corpus, sources, cfg, shared=True)
    target_vocabs = {t: vocab_for(corpus, [t], cfg) for t in targets}
    strategy = make_strategy(settings.strategy)
    with scope(strategy), precision(settings.precision):
        encoder = build_encoder(cfg.encoder, source_vocab.size)
        decoders = {
            t: build_decoder({**cfg.decoder, "lang": t}, target_vocabs[t].size, encoder.thought_spec())
            for t in targets
        }
    run_dir = run_dir_for(store, "joint", cfg, strategy)
    with claim_run(run_dir):  # one run per run folder: never twins, never a folder deleted under a run
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
            encoder,
            source_vocab,
            {**stage_record(cfg, "joint", pairs, history, corpus), "languages": sources},
        )
        decoder_modules = []
        for t in targets:
            own_pairs = [p for p in pairs if p[1] == t]
            record = stage_record(cfg, "joint", own_pairs, history, corpus)
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
        f"joint done in {history['seconds']}s: encoder {encoder_module.id}; valid exact {summary(validation)}"
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
    with precision(settings.precision):  # the frozen encoder computes in the stage's precision too
        encoder, source_vocab = load_encoder(store, encoder_module)
    encoder.trainable = False  # and its variables are left out of every gradient
    target_vocab = vocab_for(corpus, [lang], cfg)
    strategy = make_strategy(settings.strategy)
    with scope(strategy), precision(settings.precision):
        decoder = build_decoder({**cfg.decoder, "lang": lang}, target_vocab.size, encoder.thought_spec())
    extra = {"lang": lang, "pairs": [list(p) for p in pairs], "encoder": encoder_module.id}
    run_dir = run_dir_for(store, "plugin", cfg, strategy, extra)
    with claim_run(run_dir):  # one run per run folder: never twins, never a folder deleted under a run
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
        record = stage_record(cfg, "plugin", pairs, history, corpus)
        record.update(
            lang=lang,
            max_len=max_lens[lang],
            metrics={"valid_exact": {pair_name(p): v for p, v in validation.items()}},
        )
        module = store.save_decoder(decoder, target_vocab, encoder_module, record, reuse_twin=retried)
        remove_run(run_dir)
    log.info(f"plugin done in {history['seconds']}s: decoder {module.id}; valid exact {summary(validation)}")
    return module
