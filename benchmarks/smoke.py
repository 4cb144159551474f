"""Every benchmark, run once at its smallest settings: do they still run? (CI runs this.)

    python benchmarks/smoke.py --store <a store from plugmt-run>   # ~7 min on 2 cores

Not a measurement: the figures of a smoke run are noise and are thrown away. It exists because a
benchmark nobody runs breaks without anyone noticing (benchmarks/precision.py once shipped a column
that could never print). Each benchmark runs in its own process with its smallest arguments and its
output in a temporary folder; a benchmark passes when it exits 0 and writes the report files its
docstring promises; a script here with a __main__ block that is not in SMOKE fails too, so a new
benchmark cannot go unchecked. One line per benchmark, then exit 1 naming those that failed (their
last lines of stderr shown). benchmarks/profile_step.py needs `xprof`, not a plugmt dependency: it is skipped,
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
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Smoke:
    """How one benchmark runs at its smallest: arguments ({store} and {out} filled in), the report
    files it must write into --out, and a module it needs that plugmt does not install."""

    script: str
    args: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    needs: str | None = None


SMOKE = (
    Smoke(
        "decoding.py", ("--rounds", "1", "--length", "4", "--out", "{out}"), ("decoding.json", "decoding.md")
    ),
    Smoke(
        "padding.py",
        ("--experiment", "null", "--batches", "50", "--out", "{out}"),
        ("padding.json", "padding.md"),
    ),
    Smoke("pipeline.py"),
    Smoke("precision.py", ("--rounds", "1", "--out", "{out}"), ("precision.json", "precision.md")),
    Smoke("run.py", ("--repeats", "1", "--out", "{out}"), ("benchmarks.json", "benchmarks.md")),
    Smoke("time_to_99.py", ("--max-seconds", "10", "--out", "{out}"), ("time_to_99.json", "time_to_99.md")),
    Smoke("serving.py", ("--store", "{store}", "--items", "64", "--batch", "32")),
    Smoke("profile_step.py", ("--out", "{out}"), ("profile_step.json",), needs="xprof"),
)


def unlisted() -> list[str]:
    """Benchmarks (scripts in this folder with a __main__ block) that SMOKE does not run."""
    listed = {smoke.script for smoke in SMOKE} | {Path(__file__).name}
    scripts = (p for p in sorted(HERE.glob("*.py")) if 'if __name__ == "__main__"' in p.read_text())
    return [p.name for p in scripts if p.name not in listed]


def run_one(smoke: Smoke, store: str, work: Path) -> tuple[bool, str]:
    """Run one benchmark in its own process; (passed, one line saying how it went)."""
    out = work / smoke.script.removesuffix(".py")
    out.mkdir()
    argv = [a.format(store=store, out=out) for a in smoke.args]
    start = time.perf_counter()
    done = subprocess.run([sys.executable, str(HERE / smoke.script), *argv], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    missing = [name for name in smoke.writes if not (out / name).is_file()]
    if done.returncode == 0 and not missing:
        return True, f"ok      {smoke.script} ({seconds:.0f} s)"
    why = f"exit {done.returncode}" if done.returncode else f"no {', '.join(missing)} written"
    tail = "\n".join("        " + line for line in done.stderr.strip().splitlines()[-8:])
    return False, f"FAILED  {smoke.script} ({why}, {seconds:.0f} s)\n{tail}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True, help="a store with an es decoder (plugmt-run's)")
    parser.add_argument(
        "--only",
        action="append",
        choices=[smoke.script for smoke in SMOKE],
        help="run only this benchmark (repeatable)",
    )
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    failed = []
    for script in unlisted():
        print(f"FAILED  {script} (a benchmark smoke.py does not run: add it to SMOKE)", flush=True)
        failed.append(script)
    with tempfile.TemporaryDirectory(prefix="plugmt-bench-smoke-") as folder:
        for smoke in SMOKE:
            if args.only and smoke.script not in args.only:
                continue
            if smoke.needs and importlib.util.find_spec(smoke.needs) is None:
                print(f"skipped {smoke.script} (needs `pip install {smoke.needs}`)", flush=True)
                continue
            passed, line = run_one(smoke, args.store, Path(folder))
            print(line, flush=True)
            if not passed:
                failed.append(smoke.script)
    if failed:
        print(f"benchmark smoke: {len(failed)} failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
