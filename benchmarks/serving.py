"""Serving: sentences/s of an exported SavedModel against plugmt's own `Pipeline`, same process.

    python benchmarks/serving.py --store store --decoder es --source en

Exports the pair to a temporary folder (timed), then translates the same sentences (the store's
corpus is not needed: dates are rendered here in the source language) in batches of 512, greedy,
with both; prints the median of 3 repeats and min–max, and checks both gave the same translations.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def sentences(lang: str, n: int) -> list[str]:
    from babel.dates import format_date

    start = date(2000, 1, 1)
    return [format_date(start + timedelta(days=3 * i), "long", locale=lang) for i in range(n)]


def timed(fn, repeats: int = 3) -> tuple[list[float], object]:
    fn()  # warm-up: tracing, first allocation
    seconds, result = [], None
    for _ in range(repeats):
        clock = time.perf_counter()
        result = fn()
        seconds.append(time.perf_counter() - clock)
    return seconds, result


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="store")
    parser.add_argument("--decoder", default="es")
    parser.add_argument("--source", default="en", help="language of the rendered dates")
    parser.add_argument("--items", type=int, default=2048)
    parser.add_argument("--batch", type=int, default=512)
    args = parser.parse_args()

    import tensorflow as tf

    from plugmt.inference.export import export_pair
    from plugmt.inference.translator import Translator
    from plugmt.storage import Store

    texts = sentences(args.source, args.items)
    store = Store(args.store)
    with tempfile.TemporaryDirectory() as folder:
        clock = time.perf_counter()
        path = export_pair(store, args.decoder, Path(folder) / "model")
        export_seconds = time.perf_counter() - clock
        size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        served = tf.saved_model.load(str(path)).signatures["serving_default"]

        def saved_model() -> list[str]:
            out = []
            for start in range(0, len(texts), args.batch):
                batch = tf.constant(texts[start : start + args.batch])
                out += [t.decode() for t in served(text=batch)["translation"].numpy()]
            return out

        pipeline = Translator.open(store).plug(args.decoder).pipeline
        seconds_saved, got = timed(saved_model)
        seconds_plugmt, want = timed(lambda: pipeline(texts, args.batch))
    timings = {"saved": seconds_saved, "plugmt": seconds_plugmt}
    rate = {name: len(texts) / statistics.median(s) for name, s in timings.items()}
    report = {
        "items": len(texts),
        "batch": args.batch,
        "export_seconds": round(export_seconds, 2),
        "saved_model_bytes": size,
        "saved_model_sentences_per_s": round(rate["saved"], 1),
        "saved_model_range_s": [round(min(seconds_saved), 3), round(max(seconds_saved), 3)],
        "plugmt_sentences_per_s": round(rate["plugmt"], 1),
        "plugmt_range_s": [round(min(seconds_plugmt), 3), round(max(seconds_plugmt), 3)],
        "ratio_saved_over_plugmt": round(rate["saved"] / rate["plugmt"], 3),
        "identical_translations": got == want,
    }
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
