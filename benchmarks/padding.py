"""Padding per batch: train.batch_size against train.batch_tokens, on the batches a joint stage draws.

    python benchmarks/padding.py --data-path ../shared/data/multi30k            # experiment=multi30k
    python benchmarks/padding.py --experiment null --batches 1000                # the default phrasebook

Composes the experiment's config, tokenises the training split as the joint stage does, and draws
the first `--batches` batches of the seeded stream twice: with `train.batch_size` rows, and with a
`train.batch_tokens` budget set so a batch holds as many rows on average (so the two compare at the
same expected batch). Reported for each: padding (padded positions ÷ all positions of the source
and target tensors), real target tokens per batch (mean and coefficient of variation: how evenly
batches cost), rows per batch, and the number of distinct batch shapes (each is a program XLA
compiles). No model is built; a minute or two on 2 cores (vocabularies are cached).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = Path(__file__).resolve().parent


def batches_for(overrides: list[str]):
    """The joint stage's batch stream for a composed config, and how it was made."""
    from plugmt.cli.hydra_app import compose_config
    from plugmt.conf.schemas import register
    from plugmt.corpora.batches import MultiTargetBatches
    from plugmt.corpora.corpus import load_corpus
    from plugmt.training.prepare import batch_stream, joint_directions, vocab_for
    from plugmt.training.settings import train_settings

    register()
    cfg = compose_config("config", overrides)
    settings = train_settings(cfg)
    corpus = load_corpus(cfg.data)
    pairs, sources, targets = joint_directions(cfg, corpus, settings)
    source_vocab = vocab_for(corpus, sources, cfg, shared=True)
    source_ids = {s: source_vocab.encode_padded(corpus.texts("train", s)) for s in sources}
    target_ids = {
        t: vocab_for(corpus, [t], cfg).encode_padded(corpus.texts("train", t), add_eos=True) for t in targets
    }

    def stream(batch_tokens: int | None) -> MultiTargetBatches:
        chosen = dataclasses.replace(settings, batch_tokens=batch_tokens)
        return batch_stream(cfg, chosen, corpus, pairs, source_ids, target_ids, targets, two_sources=True)

    return stream, settings.batch_size


def measure(stream, count: int) -> dict:
    real, slots, target_tokens, rows, shapes = 0, 0, [], [], set()
    for index in range(count):
        batch = stream.batch(index)
        tensors = [batch.sources, *batch.target_out]
        real += sum(int((t != 0).sum()) for t in tensors)
        slots += sum(int(t.size) for t in tensors)
        target_tokens.append(sum(int((t != 0).sum()) for t in batch.target_out))
        rows.append(batch.sources.shape[1])
        shapes.add((batch.sources.shape, *(t.shape for t in batch.target_out)))
    mean = statistics.fmean(target_tokens)
    return {
        "padding": round(1 - real / slots, 4),
        "target_tokens_per_batch": round(mean, 1),
        "target_tokens_cv": round(statistics.pstdev(target_tokens) / mean, 3),
        "rows_per_batch": round(statistics.fmean(rows), 1),
        "batch_shapes": len(shapes),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", default="multi30k", help="experiment=<name> (null: the default run)")
    parser.add_argument("--data-path", help="data.path for a file corpus (experiment=multi30k needs it)")
    parser.add_argument("--batches", type=int, default=2000)
    parser.add_argument("--out", default=str(HERE / "out"))
    args = parser.parse_args()
    overrides = [] if args.experiment == "null" else [f"experiment={args.experiment}"]
    overrides.append("train.tensorboard=null")  # a Hydra run folder's; there is none here
    if args.data_path:
        overrides.append(f"data.path={Path(args.data_path).resolve()}")
    stream, batch_size = batches_for(overrides)
    by_rows = stream(None)
    # The token budget that gives the same rows per batch on average: rows = budget // longest text.
    budget = batch_size * 8
    for _ in range(40):
        rows = stream(budget).expected_rows()
        if abs(rows - batch_size) < 0.5:
            break
        budget = max(1, round(budget * batch_size / rows))
    results = {
        f"train.batch_size={batch_size}": measure(by_rows, args.batches),
        f"train.batch_tokens={budget}": measure(stream(budget), args.batches),
    }
    lines = [
        f"# Padding per batch: {' '.join(overrides) or 'the default run'}, first {args.batches} batches",
        "",
        "| batches by | padding | target tokens / batch | their CV | rows / batch | shapes |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        tokens, cv = r["target_tokens_per_batch"], r["target_tokens_cv"]
        lines.append(
            f"| `{name}` | {r['padding']:.1%} | {tokens:.0f} | {cv:.2f} | {r['rows_per_batch']:.1f} "
            f"| {r['batch_shapes']} |"
        )
    report = "\n".join(lines)
    print(report)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "padding.md").write_text(report + "\n")
    (out / "padding.json").write_text(json.dumps({"overrides": overrides, "results": results}, indent=2))


if __name__ == "__main__":
    sys.exit(main())
