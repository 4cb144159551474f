"""Time to 99% exact match on held-out dates (the tutorial task), plugmt against the seed baseline.

    python benchmarks/time_to_99.py               # 1 repeat per side (each side can take minutes)
    python benchmarks/time_to_99.py --repeats 3

Both sides train on the same English dates (three CLDR styles, 1950-2049) -> ISO, in chunks of
steps; after each chunk greedy decoding of the same 1,000 held-out test dates is scored. The clock
counts training only (scoring is excluded on both sides) and stops at the first chunk >= 99%.
Baseline: the seed tutorial as written (benchmarks/seed_baseline.py). plugmt: its tutorial
experiment's model and optimiser (conf/experiment/tutorial.yaml), plain and with XLA.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = Path(__file__).resolve().parent
BATCH, CHUNK, TEST_ITEMS, TARGET = 128, 50, 1000, 0.99
SIDES = ("baseline", "plugmt", "plugmt_xla")


def dates() -> dict[str, list[str]]:
    from plugmt.corpora.phrasebook import PhrasebookSettings, generate

    columns = generate(PhrasebookSettings(languages=["en", "iso"], first_year=1950, last_year=2049))
    split = {"train": {"en": [], "iso": [], "group": []}, "test": {"en": [], "iso": [], "group": []}}
    for i, name in enumerate(columns["split"]):
        if name in split:
            for key in ("en", "iso", "group"):
                split[name][key].append(columns[key][i])
    return {f"{name}_{key}": values for name, cols in split.items() for key, values in cols.items()}


def race(train_chunk, score, max_seconds: float) -> dict:
    """Alternate training chunks and scoring until TARGET or `max_seconds` of training."""
    trained, steps, curve = 0.0, 0, []
    while trained < max_seconds:
        start = time.perf_counter()
        train_chunk()
        trained += time.perf_counter() - start
        steps += CHUNK
        exact = score()
        curve.append([steps, round(trained, 1), round(exact, 4)])
        print(f"  {steps} steps · {trained:.0f}s · exact {exact:.3f}", file=sys.stderr)
        if exact >= TARGET:
            return {"seconds": trained, "steps": steps, "reached": True, "curve": curve}
    return {"seconds": trained, "steps": steps, "reached": False, "curve": curve}


def side_baseline(data: dict, max_seconds: float) -> dict:
    import numpy as np

    sys.path.insert(0, str(HERE))
    from seed_baseline import CharTable, build, greedy

    source_table, target_table = CharTable(data["train_en"]), CharTable(data["train_iso"])
    width_s = max(map(len, data["train_en"] + data["test_en"]))
    width_t = max(map(len, data["train_iso"])) + 1
    x = source_table.encode(data["train_en"], width_s)
    y = target_table.encode(data["train_iso"], width_t, ends=True)
    y_in = np.concatenate([np.ones((len(y), 1), np.int32), y[:, :-1]], axis=1)
    test_x = source_table.encode(data["test_en"][:TEST_ITEMS], width_s)
    references = data["test_iso"][:TEST_ITEMS]
    model, encoder, step = build(source_table.size, target_table.size)
    rng = np.random.default_rng(0)

    def train_chunk() -> None:
        rows = rng.choice(len(x), size=BATCH * CHUNK, replace=False)
        model.fit([x[rows], y_in[rows]], y[rows], batch_size=BATCH, epochs=1, verbose=0, shuffle=False)

    def score() -> float:
        hypotheses = target_table.decode(greedy(encoder, step, test_x, width_t))
        return float(np.mean([h == r for h, r in zip(hypotheses, references, strict=True)]))

    return race(train_chunk, score, max_seconds)


def side_plugmt(data: dict, max_seconds: float, jit: bool) -> dict:
    import numpy as np
    from run import en_iso_trainer  # benchmarks/ is on the path: this script's own folder

    from plugmt.corpora.vocab import Vocab
    from plugmt.registry import build_decoder, build_encoder
    from plugmt.workflows.runtime import seed_everything
    from plugmt.workflows.translator import Pipeline

    seed_everything(0)
    source_vocab, target_vocab = Vocab.train(data["train_en"]), Vocab.train(data["train_iso"])
    encoder = build_encoder({"name": "lstm", "embed_dim": 16, "units": 64}, source_vocab.size)
    decoder = build_decoder(
        {"name": "lstm", "embed_dim": 16, "feed_thought": False}, target_vocab.size, encoder.thought_spec()
    )
    trainer, batches = en_iso_trainer(
        encoder,
        decoder,
        source_vocab,
        target_vocab,
        data["train_en"],
        data["train_iso"],
        data["train_group"],
        jit,
        align_weight=0.0,
    )
    pipeline = Pipeline(encoder, source_vocab, decoder, target_vocab, max_len=16)
    references = data["test_iso"][:TEST_ITEMS]

    def train_chunk() -> None:
        for _ in range(CHUNK):
            trainer(next(batches))

    def score() -> float:
        hypotheses = pipeline(data["test_en"][:TEST_ITEMS], 500)
        return float(np.mean([h == r for h, r in zip(hypotheses, references, strict=True)]))

    return race(train_chunk, score, max_seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--max-seconds", type=float, default=900.0, help="training time cap per side")
    parser.add_argument("--out", default=str(HERE / "out"))
    parser.add_argument("--side", choices=SIDES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        data = dates()
        if args.side == "baseline":
            result = side_baseline(data, args.max_seconds)
        else:
            result = side_plugmt(data, args.max_seconds, jit=args.side == "plugmt_xla")
        print(json.dumps(result))
        return
    runs: dict[str, list[dict]] = {side: [] for side in SIDES}
    for repeat in range(args.repeats):
        for side in SIDES:
            print(f"repeat {repeat + 1}/{args.repeats} {side}", file=sys.stderr)
            command = [sys.executable, __file__, "--side", side, "--max-seconds", str(args.max_seconds)]
            result = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True)
            runs[side].append(json.loads(result.stdout.strip().splitlines()[-1]))
    lines = [
        f"Time to {TARGET:.0%} exact on {TEST_ITEMS} held-out dates (training seconds; "
        f"{args.repeats} repeat(s), median (min–max); cap {args.max_seconds:.0f}s)",
        "",
        "| side | seconds | steps | reached | baseline ÷ side |",
        "|---|---:|---:|---|---:|",
    ]
    base = statistics.median(r["seconds"] for r in runs["baseline"])
    for side, results in runs.items():
        seconds = [r["seconds"] for r in results]
        median = statistics.median(seconds)
        steps = statistics.median(r["steps"] for r in results)
        reached = all(r["reached"] for r in results)
        bound = "" if runs["baseline"][0]["reached"] else "≥ "
        lines.append(
            f"| {side} | {median:.0f} ({min(seconds):.0f}–{max(seconds):.0f}) | {steps:.0f} | "
            f"{'yes' if reached else 'no (cap)'} | {bound}{base / median:.2f} |"
        )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "time_to_99.json").write_text(json.dumps(runs, indent=1))
    (out / "time_to_99.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
