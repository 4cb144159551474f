"""train.precision=bf16 against float32: training throughput per architecture, measured in one process.

    python benchmarks/precision.py               # 5 rounds per architecture (~6 min on 2 cores)
    python benchmarks/precision.py --rounds 3 --only transformer

For each architecture both trainers (float32 and bf16) are built on the same random batch and
warmed up; then rounds alternate float32 and bf16 timings, so drift in the machine's speed falls
on both sides alike. Reported per architecture: target tokens/s of each (median, min, max over the
rounds), bf16 ÷ float32 of the medians, and the cores each keeps busy (CPU seconds of this
process per wall second while it trains: 2.0 is both cores of a 2-core machine). For the
Transformer also its model FLOP/s ÷ this machine's bfloat16 and float32 matmul peaks, measured in
the same process (issue 15's goal: ≥ 50%).
The sizes are the presets': the default run's LSTM, model=bridge, experiment=multi30k's Transformer.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

BATCH, SOURCE_LEN, TARGET_LEN, STEPS = 64, 28, 28, 10
ARCHITECTURES = {
    # name: (encoder settings, decoder settings, source vocab, target vocab)
    "lstm": ({"name": "lstm"}, {"name": "lstm"}, 500, 500),
    "bridge": ({"name": "bridge"}, {"name": "lstm"}, 500, 500),
    "transformer": (
        {"name": "transformer", "d_model": 128, "heads": 4, "layers": 3, "ffn": 512, "dropout": 0.1},
        {"name": "transformer", "d_model": 128, "heads": 4, "layers": 3, "ffn": 512, "dropout": 0.1},
        8000,
        4000,
    ),
}


def cpu_bf16_flags() -> str:
    """The CPU's bfloat16 instructions oneDNN can use (Linux), e.g. "avx512_bf16", or "none"."""
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return "unknown"
    found = sorted(flags & {"avx512_bf16", "amx_bf16", "avx_ne_convert"})
    return ", ".join(found) or "none"


def matmul_peak(dtype: str) -> float:
    """GFLOP/s of chained 2048² matmuls in `dtype` (float32 or bfloat16)."""
    import tensorflow as tf

    a = tf.cast(tf.random.normal((2048, 2048)), dtype)

    @tf.function
    def loop(x):
        for _ in range(10):
            x = tf.matmul(x, a) * tf.cast(1e-3, dtype)
        return x

    loop(a).numpy()
    start = time.perf_counter()
    loop(a).numpy()
    return 10 * 2 * 2048**3 / (time.perf_counter() - start) / 1e9


def trainer_for(name: str, precision_name: str):
    import numpy as np
    from omegaconf import OmegaConf

    from plugmt.corpora.batches import Batch
    from plugmt.layers.precision import precision
    from plugmt.registry import build_decoder, build_encoder
    from plugmt.training.settings import TrainSettings
    from plugmt.training.step import Trainer

    encoder_settings, decoder_settings, source_vocab, target_vocab = ARCHITECTURES[name]
    with precision(precision_name):
        encoder = build_encoder(encoder_settings, source_vocab)
        decoder = build_decoder({**decoder_settings, "lang": "x"}, target_vocab, encoder.thought_spec())
    settings = OmegaConf.to_object(OmegaConf.structured(TrainSettings(batch_size=BATCH)))
    trainer = Trainer(encoder, {"x": decoder}, settings, train_encoder=True, sources=1)
    rng = np.random.default_rng(0)
    source = rng.integers(4, source_vocab, size=(1, BATCH, SOURCE_LEN)).astype(np.int32)
    target = rng.integers(4, target_vocab, size=(BATCH, TARGET_LEN)).astype(np.int32)
    batch = Batch(("a",), source, (target,), (target,), np.zeros(1, np.int32), ())
    for _ in range(3):
        trainer(batch)
    return trainer, batch


def tokens_per_second(trainer, batch) -> tuple[float, float]:
    """(target tokens/s, cores busy: this process's CPU seconds per wall second) over STEPS steps."""
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(STEPS):
        trainer(batch)
    wall = time.perf_counter() - start
    return STEPS * BATCH * TARGET_LEN / wall, (time.process_time() - cpu) / wall


def transformer_flops_per_step() -> float:
    from run import transformer_step_flops

    encoder, _, _, target_vocab = ARCHITECTURES["transformer"]
    length = (SOURCE_LEN + TARGET_LEN) // 2
    return transformer_step_flops(
        encoder["d_model"], encoder["ffn"], encoder["layers"], target_vocab, BATCH, length
    )


def measure(name: str, rounds: int) -> dict:
    trainers = {p: trainer_for(name, p) for p in ("float32", "bf16")}
    speeds: dict[str, list[float]] = {p: [] for p in trainers}
    busy: dict[str, list[float]] = {p: [] for p in trainers}
    for _ in range(rounds):
        for p, (trainer, batch) in trainers.items():
            speed, cores = tokens_per_second(trainer, batch)
            speeds[p].append(speed)
            busy[p].append(cores)
    result = {
        p: {
            "median": statistics.median(v),
            "min": min(v),
            "max": max(v),
            "cores_busy": statistics.median(busy[p]),
        }
        for p, v in speeds.items()
    }
    result["bf16_over_float32"] = result["bf16"]["median"] / result["float32"]["median"]
    if name == "transformer":
        steps_per_s = result["bf16"]["median"] / (BATCH * TARGET_LEN)
        gflops = transformer_flops_per_step() * steps_per_s / 1e9
        peaks = {dtype: matmul_peak(dtype) for dtype in ("bfloat16", "float32")}
        result["bf16_model_gflops"] = gflops
        result["matmul_peak_gflops"] = peaks
        result["fraction_of_bf16_peak"] = gflops / peaks["bfloat16"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", choices=list(ARCHITECTURES), action="append")
    parser.add_argument("--out", default=str(HERE / "out"))
    args = parser.parse_args()
    results = {}
    for name in args.only or ARCHITECTURES:
        results[name] = measure(name, args.rounds)
        print(f"{name}: {json.dumps(results[name])}", file=sys.stderr)
    lines = [
        f"CPU bfloat16 instructions: {cpu_bf16_flags()}; {os.cpu_count()} cores.",
        "",
        f"batch {BATCH}, source and target {SOURCE_LEN} tokens; {args.rounds} alternating rounds of "
        f"{STEPS} steps; target tokens/s, median (min–max)",
        "",
        "| architecture | float32 | bf16 | bf16 ÷ float32 | cores busy (float32 / bf16) |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        cells = [
            f"{r[p]['median']:,.0f} ({r[p]['min']:,.0f}–{r[p]['max']:,.0f})" for p in ("float32", "bf16")
        ]
        busy = f"{r['float32']['cores_busy']:.2f} / {r['bf16']['cores_busy']:.2f}"
        lines.append(f"| {name} | {cells[0]} | {cells[1]} | {r['bf16_over_float32']:.2f}× | {busy} |")
    if "transformer" in results:
        r = results["transformer"]
        peaks = r["matmul_peak_gflops"]
        lines += [
            "",
            f"Transformer in bf16: {r['bf16_model_gflops']:.1f} model GFLOP/s = "
            f"{100 * r['fraction_of_bf16_peak']:.1f}% of this machine's bfloat16 matmul peak "
            f"({peaks['bfloat16']:.0f} GFLOP/s; float32 peak {peaks['float32']:.0f} GFLOP/s).",
        ]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results["cpu_bf16_flags"] = cpu_bf16_flags()
    (out / "precision.json").write_text(json.dumps(results, indent=2))
    (out / "precision.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
