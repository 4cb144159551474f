"""Transformer decoding speed: greedy and beam-5 output tokens/s at batch 64, in one process.

    python benchmarks/decoding.py               # 3 rounds (~2 min on 2 cores)
    python benchmarks/decoding.py --length 96   # longer outputs

The experiment=multi30k Transformer (d_model 128, 3+3 layers, ffn 512, vocabularies 8000/4000) with
random weights decodes a batch of 64 random 20-token sources; end-of-sentence is ruled out, so every
search runs exactly `--length` steps and the figures compare like with like. Reported: output
tokens/s (batch x steps / seconds; beam: of the best hypothesis) for greedy and beam 5 (median,
min–max over the rounds) and beam 5's cost relative to greedy. Both searches run compiled
(`tf.function`), as `Translator` runs them.
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
BATCH, SOURCE_LEN = 64, 20
SIZES = {"d_model": 128, "heads": 4, "layers": 3, "ffn": 512, "dropout": 0.1}


class NeverEnds:
    """The decoder with end-of-sentence ruled out at every step: search runs to its length cap."""

    def __init__(self, inner):
        self.inner = inner

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def step(self, tokens, state, thought):
        import tensorflow as tf

        from plugmt.thought import EOS_ID

        logits, state = self.inner.step(tokens, state, thought)
        return logits - 1e9 * tf.one_hot(EOS_ID, tf.shape(logits)[-1]), state


def searches(length: int):
    import numpy as np
    import tensorflow as tf

    from plugmt.decoders.search import beam_search, greedy_search
    from plugmt.registry import build_decoder, build_encoder

    encoder = build_encoder({"name": "transformer", **SIZES}, 8000)
    decoder = NeverEnds(
        build_decoder({"name": "transformer", "lang": "x", **SIZES}, 4000, encoder.thought_spec())
    )
    ids = tf.constant(np.random.default_rng(0).integers(4, 8000, size=(BATCH, SOURCE_LEN)), tf.int32)

    @tf.function
    def greedy(ids):
        return greedy_search(decoder, encoder.encode(ids), length)

    @tf.function
    def beam(ids):
        return beam_search(decoder, encoder.encode(ids), length, beam_size=5)[0]

    return {"greedy": lambda: greedy(ids), "beam5": lambda: beam(ids)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--length", type=int, default=48)
    parser.add_argument("--out", default=str(HERE / "out"))
    args = parser.parse_args()
    runs = searches(args.length)
    for run in runs.values():
        assert run().shape[1] == args.length  # compiled, and every search runs the full length
    speeds: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            run().numpy()
            speeds[name].append(BATCH * args.length / (time.perf_counter() - start))
    result = {
        name: {"median": statistics.median(v), "min": min(v), "max": max(v)} for name, v in speeds.items()
    }
    result["beam5_cost_vs_greedy"] = result["greedy"]["median"] / result["beam5"]["median"]
    lines = [
        f"batch {BATCH}, {args.length} output tokens each, {args.rounds} rounds; "
        "output tokens/s, median (min–max)",
        "",
        "| search | tokens/s |",
        "|---|---:|",
        *(
            f"| {n} | {r['median']:,.0f} ({r['min']:,.0f}–{r['max']:,.0f}) |"
            for n, r in result.items()
            if n in runs
        ),
        "",
        f"beam 5 costs {result['beam5_cost_vs_greedy']:.2f}× greedy per output token.",
    ]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "decoding.json").write_text(json.dumps(result, indent=2))
    (out / "decoding.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
