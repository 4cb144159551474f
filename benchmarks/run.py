"""plugmt against the seed baseline, in one run on one machine, as ratios (README: Benchmarks).

    python benchmarks/run.py                # 3 repeats, both sides, Markdown + JSON in benchmarks/out/
    python benchmarks/run.py --repeats 1    # quicker, noisier

Each side runs in its own subprocess (so peak RSS is its own). Figures: training throughput at the
identical model (target characters/s, steady state, after compile), greedy decoding sentences/s at
batch 512, beam-4 cost relative to greedy (plugmt), peak RSS, this machine's float32 matmul peak, and a
Multi30k-sized Transformer's training FLOPs/s as a fraction of that peak.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = Path(__file__).resolve().parent
BATCH, DECODE_BATCH, WARMUP, STEPS = 128, 512, 20, 150


def dates() -> tuple[list[str], list[str]]:
    from plugmt.corpora.phrasebook import PhrasebookSettings, generate

    columns = generate(PhrasebookSettings(languages=["en", "iso"], first_year=1950, last_year=2049))
    train = [i for i, s in enumerate(columns["split"]) if s == "train"]
    return [columns["en"][i] for i in train], [columns["iso"][i] for i in train]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def matmul_peak() -> float:
    import tensorflow as tf

    a = tf.random.normal((2048, 2048))

    @tf.function
    def loop(x):
        for _ in range(10):
            x = tf.matmul(x, a) * 1e-3
        return x

    loop(a).numpy()
    start = time.perf_counter()
    loop(a).numpy()
    return 10 * 2 * 2048**3 / (time.perf_counter() - start) / 1e9


def baseline_data():
    """The seed baseline's arrays of the same dates: (x, decoder input, target, source size,
    target size), padded to the corpus maximum as the tutorial pads."""
    import numpy as np

    sys.path.insert(0, str(HERE))
    from seed_baseline import CharTable

    sources, targets = dates()
    source_table, target_table = CharTable(sources), CharTable(targets)
    width_s, width_t = max(map(len, sources)), max(map(len, targets)) + 1
    x = source_table.encode(sources, width_s)
    y = target_table.encode(targets, width_t, ends=True)
    y_in = np.concatenate([np.ones((len(y), 1), np.int32), y[:, :-1]], axis=1)
    return x, y_in, y, source_table.size, target_table.size


def side_baseline() -> dict:
    from seed_baseline import build, greedy

    x, y_in, y, source_size, target_size = baseline_data()
    width_t = y.shape[1]
    model, encoder, step = build(source_size, target_size)
    n = BATCH * STEPS
    model.fit(
        [x[: BATCH * WARMUP], y_in[: BATCH * WARMUP]],
        y[: BATCH * WARMUP],
        batch_size=BATCH,
        epochs=1,
        verbose=0,
        shuffle=False,
    )
    start = time.perf_counter()
    model.fit([x[:n], y_in[:n]], y[:n], batch_size=BATCH, epochs=1, verbose=0, shuffle=False)
    seconds = time.perf_counter() - start
    greedy(encoder, step, x[:DECODE_BATCH], width_t)
    start = time.perf_counter()
    greedy(encoder, step, x[:DECODE_BATCH], width_t)
    decode = time.perf_counter() - start
    return {
        "train_target_chars_per_s": float((y[:n] > 0).sum() / seconds),
        "greedy_sentences_per_s": DECODE_BATCH / decode,
        "peak_rss_mb": peak_rss_mb(),
    }


def identical_model_trainer(jit: bool, **overrides: object):
    """plugmt's Trainer on the seed model (embedding 10, LSTM 32, no thought fed to each step), and
    its batch stream; with `jit`, XLA and lengths rounded up to 8 so few shapes compile."""

    from plugmt.corpora.vocab import Vocab
    from plugmt.registry import build_decoder, build_encoder

    sources, targets = dates()
    source_vocab, target_vocab = Vocab.train(sources), Vocab.train(targets)
    encoder = build_encoder(
        {"name": "lstm", "embed_dim": 10, "units": 32, "reverse": False}, source_vocab.size
    )
    decoder = build_decoder(
        {"name": "lstm", "embed_dim": 10, "feed_thought": False}, target_vocab.size, encoder.thought_spec()
    )
    trainer, batches = en_iso_trainer(
        encoder,
        decoder,
        source_vocab,
        target_vocab,
        sources,
        targets,
        ["all"] * len(sources),
        jit,
        **overrides,
    )
    return trainer, batches, (sources, source_vocab, encoder, decoder, target_vocab)


def en_iso_trainer(encoder, decoder, source_vocab, target_vocab, sources, targets, groups, jit, **overrides):
    """plugmt's Trainer and batch stream for the one direction en -> iso at batch BATCH; with `jit`,
    XLA and lengths rounded up to 8 so few shapes compile. `overrides`: other TrainSettings."""
    from omegaconf import OmegaConf

    from plugmt.corpora.batches import MultiTargetBatches
    from plugmt.training.settings import TrainSettings
    from plugmt.training.step import Trainer

    batches = MultiTargetBatches(
        {"en": source_vocab.encode_padded(sources)},
        {"iso": target_vocab.encode_padded(targets, add_eos=True)},
        groups,
        [("en", "iso")],
        ["iso"],
        BATCH,
        0,
        two_sources=False,
        length_multiple=8 if jit else 1,
    )
    settings = OmegaConf.to_object(
        OmegaConf.structured(TrainSettings(batch_size=BATCH, jit_compile=jit, thought_noise=0.0, **overrides))
    )
    return Trainer(encoder, {"iso": decoder}, settings, train_encoder=True, sources=1), batches


def train_throughput(trainer, batches) -> float:
    """Target characters/s over STEPS batches, after WARMUP steps and one step of every batch
    shape the timed steps will see (so no tracing or XLA compile is timed)."""
    drawn = [next(batches) for _ in range(STEPS)]
    shapes = {}
    for batch in drawn:
        shapes.setdefault((batch.sources.shape, batch.target_in[0].shape), batch)
    for batch in [*(next(batches) for _ in range(WARMUP)), *shapes.values()]:
        trainer(batch)
    start = time.perf_counter()
    for batch in drawn:
        trainer(batch)
    seconds = time.perf_counter() - start
    return sum(int((b.target_out[0] > 0).sum()) for b in drawn) / seconds


def side_plugmt() -> dict:
    from plugmt.inference.translator import Pipeline

    trainer, batches, (sources, source_vocab, encoder, decoder, target_vocab) = identical_model_trainer(False)
    chars_per_s = train_throughput(trainer, batches)
    pipeline = Pipeline(encoder, source_vocab, decoder, target_vocab, max_len=16)
    beam = Pipeline(encoder, source_vocab, decoder, target_vocab, max_len=16, beam_size=4)
    rates = {}
    for name, pipe in (("greedy", pipeline), ("beam4", beam)):
        pipe(sources[:DECODE_BATCH], DECODE_BATCH)
        start = time.perf_counter()
        pipe(sources[:DECODE_BATCH], DECODE_BATCH)
        rates[name] = DECODE_BATCH / (time.perf_counter() - start)
    return {
        "train_target_chars_per_s": chars_per_s,
        "greedy_sentences_per_s": rates["greedy"],
        "beam4_cost_vs_greedy": rates["greedy"] / rates["beam4"],
        "peak_rss_mb": peak_rss_mb(),
        "matmul_peak_gflops": matmul_peak(),
        "retraces": int(trainer.step.experimental_get_tracing_count()),
    }


def side_plugmt_xla() -> dict:
    """The same model and stream with `train.jit_compile=true` (plugmt's best setting for it)."""
    trainer, batches, _ = identical_model_trainer(True)
    return {"train_target_chars_per_s": train_throughput(trainer, batches)}


def transformer_step_flops(d: int, ffn: int, layers: int, vocab: int, batch: int, length: int) -> float:
    """Model FLOPs of one training step (forward + backward = 3x forward, multiply-add = 2 FLOPs)
    of an encoder-decoder Transformer with `layers` layers each side, source = target = `length`."""
    tokens = batch * length
    encoder = layers * tokens * (2 * (4 * d * d + 2 * d * ffn) + 4 * length * d)
    decoder = layers * tokens * (2 * (8 * d * d + 2 * d * ffn) + 8 * length * d)
    projection = tokens * 2 * d * vocab
    return 3.0 * (encoder + decoder + projection)


def side_transformer() -> dict:
    """Training FLOPs/s of a Multi30k-sized Transformer (d_model 256, 3+3 layers) on random ids,
    as a fraction of this machine's float32 matmul peak measured in the same process."""
    import numpy as np
    from omegaconf import OmegaConf

    from plugmt.corpora.batches import Batch
    from plugmt.registry import build_decoder, build_encoder
    from plugmt.training.settings import TrainSettings
    from plugmt.training.step import Trainer

    d, ffn, layers, vocab, batch, length = 256, 1024, 3, 4000, 64, 32
    sizes = {"d_model": d, "heads": 4, "layers": layers, "ffn": ffn, "dropout": 0.0}
    encoder = build_encoder({"name": "transformer", **sizes}, vocab)
    decoder = build_decoder({"name": "transformer", "lang": "x", **sizes}, vocab, encoder.thought_spec())
    settings = OmegaConf.to_object(OmegaConf.structured(TrainSettings(batch_size=batch, thought_noise=0.0)))
    trainer = Trainer(encoder, {"x": decoder}, settings, train_encoder=True, sources=1)
    rng = np.random.default_rng(0)
    ids = rng.integers(4, vocab, size=(batch, length)).astype(np.int32)
    step = Batch(("a",), ids[None], (ids,), (ids,), np.zeros(1, np.int32), ())
    for _ in range(3):
        trainer(step)
    repeats = 10
    start = time.perf_counter()
    for _ in range(repeats):
        trainer(step)
    seconds = (time.perf_counter() - start) / repeats
    flops = transformer_step_flops(d, ffn, layers, vocab, batch, length) / seconds / 1e9
    peak = matmul_peak()
    return {"transformer_gflops": flops, "matmul_peak_gflops": peak, "fraction_of_peak": flops / peak}


def summary(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(HERE / "out"))
    sides = {
        "baseline": side_baseline,
        "plugmt": side_plugmt,
        "plugmt_xla": side_plugmt_xla,
        "transformer": side_transformer,
    }
    parser.add_argument("--side", choices=list(sides), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        print(json.dumps(sides[args.side]()))
        return
    runs: dict[str, list[dict]] = {side: [] for side in sides}
    for repeat in range(args.repeats):
        for side in runs:
            result = subprocess.run(
                [sys.executable, __file__, "--side", side], capture_output=True, text=True, check=True
            )
            runs[side].append(json.loads(result.stdout.strip().splitlines()[-1]))
            print(f"repeat {repeat + 1}/{args.repeats} {side}: {runs[side][-1]}", file=sys.stderr)
    table = {}
    for key in ("train_target_chars_per_s", "greedy_sentences_per_s", "peak_rss_mb"):
        base = summary([r[key] for r in runs["baseline"]])
        ours = summary([r[key] for r in runs["plugmt"]])
        table[key] = {"baseline": base, "plugmt": ours, "ratio": ours["median"] / base["median"]}
    base = table["train_target_chars_per_s"]["baseline"]
    ours = summary([r["train_target_chars_per_s"] for r in runs["plugmt_xla"]])
    table["train_target_chars_per_s_jit_compile"] = {
        "baseline": base,
        "plugmt": ours,
        "ratio": ours["median"] / base["median"],
    }
    for key in ("beam4_cost_vs_greedy", "matmul_peak_gflops"):
        table[key] = {"plugmt": summary([r[key] for r in runs["plugmt"]])}
    for key in ("transformer_gflops", "fraction_of_peak"):
        table[f"transformer_{key}".replace("transformer_transformer", "transformer")] = {
            "plugmt": summary([r[key] for r in runs["transformer"]])
        }
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    lines = [
        f"Machine: {machine}; {args.repeats} repeats, median (min–max).",
        "",
        "| figure | baseline | plugmt | plugmt ÷ baseline |",
        "|---|---:|---:|---:|",
    ]
    for key, row in table.items():
        ours = row["plugmt"]
        cell = f"{ours['median']:,.1f} ({ours['min']:,.1f}–{ours['max']:,.1f})"
        if "baseline" in row:
            base = row["baseline"]
            lines.append(
                f"| {key} | {base['median']:,.1f} ({base['min']:,.1f}–{base['max']:,.1f}) | "
                f"{cell} | {row['ratio']:.2f} |"
            )
        else:
            lines.append(f"| {key} | — | {cell} | — |")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "benchmarks.json").write_text(
        json.dumps({"machine": machine, "runs": runs, "table": table}, indent=2)
    )
    (out / "benchmarks.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
