"""`plugmt-study <folder>`: one table from a multirun's matrices (evaluation.study does the work)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from plugmt.cli.runtime import version_line
from plugmt.errors import PlugmtError, exit_with_error
from plugmt.evaluation import study
from plugmt.evaluation.figures import study_figure  # no TensorFlow: a study runs no model (tested)
from plugmt.evaluation.study import summarise
from plugmt.evaluation.study_report import study_markdown


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="plugmt-study", description=study.__doc__.splitlines()[0])
    parser.add_argument("folder", help="a multirun folder (multirun/<date>/<time>)")
    parser.add_argument("--json", action="store_true", help="print the study as JSON instead")
    parser.add_argument("--version", action="version", version=version_line("plugmt-study"))
    args = parser.parse_args(argv)
    try:
        result = summarise(Path(args.folder))
    except PlugmtError as error:
        exit_with_error(error)
    if result["failed"]:
        print(
            f"plugmt-study: {len(result['failed'])} of {result['jobs']} jobs failed; they are listed in"
            " the output and left out of the summary",
            file=sys.stderr,
        )
    print(json.dumps(result, indent=1) if args.json else study_markdown(result), end="")
    figure = Path(args.folder) / "study.png"
    try:
        study_figure(result, figure)
    except OSError as error:
        print(f"plugmt-study: could not write {figure}: {error}", file=sys.stderr)
    else:
        print(f"plugmt-study: wrote {figure}", file=sys.stderr)
