"""Every benchmark, run once at its smallest settings: do they still run? (CI runs this.)

    python benchmarks/smoke.py --store <a store from plugmt-run>   # ~7 min on 2 cores

Not a measurement: the figures of a smoke run are noise and are thrown away. It exists because a
benchmark nobody runs breaks without anyone noticing (benchmarks/precision.py once shipped a column
that could never print). Each benchmark runs in its own process with its smallest arguments and its
output in a temporary folder; a benchmark passes when it exits 0 and writes the report files its
docstring promises. One line per benchmark, then exit 1 naming those that failed (their last lines
of stderr shown). benchmarks/profile_step.py needs `xprof`, not a plugmt dependency: it is skipped,
and says so, when xprof is not installed.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# (script, its smallest arguments, the files it must write into --out); {store} and {out} are filled in
SMOKE: list[tuple[str, list[str], list[str]]] = [
    ("decoding.py", ["--rounds", "1", "--length", "4", "--out", "{out}"], ["decoding.json", "decoding.md"]),
    (
        "padding.py",
        ["--experiment", "null", "--batches", "50", "--out", "{out}"],
        ["padding.json", "padding.md"],
    ),
    ("pipeline.py", [], []),
    ("precision.py", ["--rounds", "1", "--out", "{out}"], ["precision.json", "precision.md"]),
    ("run.py", ["--repeats", "1", "--out", "{out}"], ["benchmarks.json", "benchmarks.md"]),
    (
        "time_to_99.py",
        ["--max-seconds", "10", "--out", "{out}"],
        ["time_to_99.json", "time_to_99.md"],
    ),
    ("serving.py", ["--store", "{store}", "--items", "64", "--batch", "32"], []),
    ("profile_step.py", ["--out", "{out}"], ["profile_step.json"]),
]
NEEDS = {"profile_step.py": "xprof"}  # not plugmt's dependencies: skipped when absent


def run_one(script: str, args: list[str], outputs: list[str], store: str, work: Path) -> tuple[bool, str]:
    """Run one benchmark in its own process; (passed, one line saying how it went)."""
    out = work / script.removesuffix(".py")
    out.mkdir()
    argv = [a.format(store=store, out=out) for a in args]
    start = time.perf_counter()
    done = subprocess.run([sys.executable, str(HERE / script), *argv], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    missing = [name for name in outputs if not (out / name).is_file()]
    if done.returncode == 0 and not missing:
        return True, f"ok      {script} ({seconds:.0f} s)"
    why = f"exit {done.returncode}" if done.returncode else f"no {', '.join(missing)} written"
    tail = "\n".join("        " + line for line in done.stderr.strip().splitlines()[-8:])
    return False, f"FAILED  {script} ({why}, {seconds:.0f} s)\n{tail}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True, help="a store with an es decoder (plugmt-run's)")
    parser.add_argument("--only", action="append", help="run only this benchmark (repeatable)")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    failed = []
    with tempfile.TemporaryDirectory(prefix="plugmt-bench-smoke-") as folder:
        for script, script_args, outputs in SMOKE:
            if args.only and script not in args.only:
                continue
            need = NEEDS.get(script)
            if need and importlib.util.find_spec(need) is None:
                print(f"skipped {script} (needs `pip install {need}`)", flush=True)
                continue
            passed, line = run_one(script, script_args, outputs, args.store, Path(folder))
            print(line, flush=True)
            if not passed:
                failed.append(script)
    if failed:
        print(f"benchmark smoke: {len(failed)} failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
