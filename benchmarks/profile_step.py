"""Where a training step's time goes, for plugmt and the seed baseline at the identical model.

    pip install xprof            # TensorFlow's profiler tools, to read the trace (not a plugmt need)
    python benchmarks/profile_step.py

Three views, each side in its own process:
1. the TensorFlow profiler's op statistics over STEPS steady-state steps (host CPU): the share of
   op time per op type, and how many ops ran per step;
2. step time against sequence length (the same batch cut to fewer time steps): the slope is the cost
   of one recurrent time step, the intercept everything else;
3. model FLOPs of one step against this machine's float32 matmul peak.
"""

from __future__ import annotations

import argparse
import collections
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
STEPS = 40


def lstm_step_flops(batch: int, source_len: int, target_len: int, vocab: int) -> float:
    """Forward + backward (3x forward) multiply-adds of the seed model: embedding 10, LSTM 32 both
    sides, a Dense projection onto the target vocabulary."""
    units, embed = 32, 10
    cell = 2 * 4 * units * (embed + units)
    forward = batch * (source_len * cell + target_len * (cell + 2 * units * vocab))
    return 3.0 * forward


def op_stats(logdir: str) -> dict:
    """Op-type shares from the profiler's framework_op_stats table (needs xprof)."""
    from xprof.convert import raw_to_tool_data

    paths = [str(p) for p in Path(logdir).rglob("*.xplane.pb")]
    data, _ = raw_to_tool_data.xspace_to_tool_data(paths, "framework_op_stats", {})
    table = json.loads(data)
    table = table[0] if isinstance(table, list) else table
    columns = [c["id"] if isinstance(c, dict) else c for c in table["cols"]]
    rows = [[cell["v"] if isinstance(cell, dict) else cell for cell in r["c"]] for r in table["rows"]]
    records = [dict(zip(columns, row, strict=False)) for row in rows]
    by_type: dict[str, float] = collections.Counter()
    occurrences = 0
    for record in records:
        by_type[str(record.get("type"))] += float(record.get("total_self_time") or 0.0)
        occurrences += int(record.get("occurrences") or 0)
    # IDLE is the profiler's name for time between ops (dispatch, Python, waiting): not an op.
    idle = by_type.pop("IDLE", 0.0)
    busy = sum(by_type.values()) or 1.0
    top = sorted(by_type.items(), key=lambda kv: -kv[1])[:10]
    return {
        "op_ms_per_step": round(busy / 1000 / STEPS, 2),
        "idle_share_of_profiled_time": round(idle / (idle + busy), 3),
        "ops_per_step": round(occurrences / STEPS),
        "top_op_types_percent_of_op_time": {name: round(100 * t / busy, 1) for name, t in top},
    }


def plugmt_side() -> dict:
    import run
    import tensorflow as tf

    trainer, batches, _ = run.identical_model_trainer(False)
    batch = next(batches)
    for _ in range(5):
        trainer(batch)
    # Step time against target length: the same rows, cut to fewer time steps.
    source_len, target_len = batch.sources.shape[-1], batch.target_in[0].shape[-1]
    by_length = {}
    for length in sorted({4, 8, target_len}):
        cut = type(batch)(
            batch.languages,
            batch.sources,
            tuple(t[:, :length] for t in batch.target_in),
            tuple(t[:, :length] for t in batch.target_out),
            batch.source_index,
            batch.directions,
        )
        for _ in range(3):
            trainer(cut)
        start = time.perf_counter()
        for _ in range(20):
            trainer(cut)
        by_length[int(length)] = (time.perf_counter() - start) / 20
    for _ in range(3):
        trainer(batch)
    logdir = tempfile.mkdtemp()
    tf.profiler.experimental.start(logdir)
    for _ in range(STEPS):
        trainer(batch)
    tf.profiler.experimental.stop()
    start = time.perf_counter()
    for _ in range(STEPS):
        trainer(batch)
    step = (time.perf_counter() - start) / STEPS
    vocab = int(trainer.decoders["iso"].vocab_size)
    flops = lstm_step_flops(batch.sources.shape[1], source_len, target_len, vocab)
    return {
        "batch_shape": {"source": int(source_len), "target": int(target_len)},
        "step_ms": round(1000 * step, 2),
        "step_ms_by_target_length": {k: round(1000 * v, 2) for k, v in by_length.items()},
        "gflops": round(flops / step / 1e9, 2),
        "matmul_peak_gflops": round(run.matmul_peak(), 1),
        **op_stats(logdir),
    }


def baseline_side() -> dict:
    import run
    import tensorflow as tf
    from seed_baseline import build

    x, y_in, y, source_size, target_size = run.baseline_data()
    width_s, width_t = x.shape[1], y.shape[1]
    model, _, _ = build(source_size, target_size)
    n = run.BATCH * STEPS
    model.fit([x[:n], y_in[:n]], y[:n], batch_size=run.BATCH, epochs=1, verbose=0, shuffle=False)
    logdir = tempfile.mkdtemp()
    tf.profiler.experimental.start(logdir)
    model.fit([x[:n], y_in[:n]], y[:n], batch_size=run.BATCH, epochs=1, verbose=0, shuffle=False)
    tf.profiler.experimental.stop()
    start = time.perf_counter()
    model.fit([x[:n], y_in[:n]], y[:n], batch_size=run.BATCH, epochs=1, verbose=0, shuffle=False)
    step = (time.perf_counter() - start) / STEPS
    flops = lstm_step_flops(run.BATCH, width_s, width_t, target_size)
    return {
        "batch_shape": {"source": width_s, "target": width_t},
        "step_ms": round(1000 * step, 2),
        "gflops": round(flops / step / 1e9, 2),
        **op_stats(logdir),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", choices=["plugmt", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--out", default=str(HERE / "out"))
    args = parser.parse_args()
    if args.side:
        result = {"plugmt": plugmt_side, "baseline": baseline_side}[args.side]()
        print(json.dumps(result))
        return
    report = {}
    for side in ("baseline", "plugmt"):
        done = subprocess.run(
            [sys.executable, __file__, "--side", side], capture_output=True, text=True, check=True
        )
        report[side] = json.loads(done.stdout.strip().splitlines()[-1])
    text = io.StringIO()
    json.dump(report, text, indent=2)
    print(text.getvalue())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "profile_step.json").write_text(text.getvalue())


if __name__ == "__main__":
    main()
