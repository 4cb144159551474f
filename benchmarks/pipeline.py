"""The input pipeline alone: batches/s and tokens/s of the training stream, without a model.

    python benchmarks/pipeline.py                       # the default experiment's corpus
    python benchmarks/pipeline.py data=files data.path=../shared/data/multi30k \\
        data.splits.valid=val data.splits.test=test_2016_flickr

Prints corpus load time (cached), vocabulary time (cached), tokenisation time and the stream's
throughput, so it can be compared with training throughput (the stream must never be the
bottleneck). Any Hydra override of `plugmt-train` applies.
"""

from __future__ import annotations

import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
BATCHES = 500


def main(overrides: list[str]) -> dict:
    from hydra import compose, initialize_config_module

    from plugmt.conf.schemas import register as register_schemas
    from plugmt.corpora.batches import MultiTargetBatches
    from plugmt.corpora.corpus import load_corpus
    from plugmt.corpora.pairs import parse_pairs
    from plugmt.training.settings import train_settings
    from plugmt.training.stages import vocab_for

    register_schemas()
    with initialize_config_module("plugmt.conf", version_base="1.3"):
        cfg = compose("config", overrides=overrides)
    settings = train_settings(cfg)
    clock = time.perf_counter()
    corpus = load_corpus(cfg.data)
    loaded = time.perf_counter() - clock
    pairs = parse_pairs(cfg.data.pairs, corpus.languages, corpus.target_only)
    sources, targets = sorted({s for s, _ in pairs}), sorted({t for _, t in pairs})
    clock = time.perf_counter()
    text = {lang: corpus.texts("train", lang) for lang in {*sources, *targets}}
    source_vocab = vocab_for(corpus, sources, cfg, shared=True)
    target_vocabs = {t: vocab_for(corpus, [t], cfg) for t in targets}
    vocab_seconds = time.perf_counter() - clock
    clock = time.perf_counter()
    source_ids = {s: source_vocab.encode_padded(text[s]) for s in sources}
    target_ids = {t: target_vocabs[t].encode_padded(text[t], add_eos=True) for t in targets}
    tokenise_seconds = time.perf_counter() - clock
    batches = MultiTargetBatches(
        source_ids,
        target_ids,
        corpus.groups("train"),
        pairs,
        targets,
        settings.batch_size,
        0,
        True,
        temperature=settings.temperature,
    )
    clock = time.perf_counter()
    tokens = 0
    for _ in range(BATCHES):
        batch = next(batches)
        tokens += int((batch.sources > 0).sum()) + sum(int((t > 0).sum()) for t in batch.target_out)
    seconds = time.perf_counter() - clock
    return {
        "corpus": corpus.name,
        "train_rows": len(corpus.groups("train")),
        "corpus_load_s": round(loaded, 2),
        "vocab_s": round(vocab_seconds, 2),
        "tokenise_s": round(tokenise_seconds, 2),
        "batches_per_s": round(BATCHES / seconds, 1),
        "tokens_per_s": round(tokens / seconds),
        "batch_size": settings.batch_size,
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:]), indent=1))
