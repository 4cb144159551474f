"""The CI quality gate: which matrices pass, which cells it names when they do not."""

from __future__ import annotations

import json
import subprocess
import sys

from plugmt.evaluation.gate import failures


def _cell(src: str, tgt: str, kind: str, exact: float, pivot: float | None = None) -> dict:
    cell = {"src": src, "tgt": tgt, "kind": kind, "exact": exact}
    if pivot is not None:
        cell["pivot"] = {"path": [src, "en", tgt], "exact": pivot}
    return cell


def _matrix(*cells: dict) -> dict:
    return {"cells": list(cells)}


GOOD = _matrix(
    _cell("en", "fr", "supervised", 0.99),
    _cell("fr", "de", "zero-shot", 0.96, pivot=0.98),
    _cell("en", "es", "plugged", 0.95, pivot=0.95),
)


def test_a_matrix_at_the_thresholds_passes() -> None:
    assert failures(GOOD) == []


def test_each_threshold_names_its_cell() -> None:
    low_supervised = _matrix(*GOOD["cells"], _cell("de", "en", "supervised", 0.989))
    assert failures(low_supervised) == ["de→en supervised exact 0.989 < 0.99"]
    low_unseen = _matrix(*GOOD["cells"], _cell("de", "es", "plugged", 0.949, pivot=0.96))
    assert failures(low_unseen) == ["de→es plugged exact 0.949 < 0.95"]
    # Above 0.95, but 0.03 below its own pivot: the pivot gap alone fails it.
    far_below_pivot = _matrix(*GOOD["cells"], _cell("de", "fr", "zero-shot", 0.96, pivot=0.99))
    (problem,) = failures(far_below_pivot)
    assert problem.startswith("de→fr zero-shot exact 0.960 is 0.030 below its pivot")


def test_a_gap_says_what_its_paired_interval_shows() -> None:
    def gap_cell(ci: list[float]) -> dict:
        cell = _cell("de", "fr", "zero-shot", 0.96, pivot=0.99)
        cell["pivot"]["exact_gap"] = {"gap": 0.03, "ci": ci, "discordant": [30, 0], "verdict": "?"}
        return cell

    (shown,) = failures(_matrix(*GOOD["cells"], gap_cell([0.021, 0.041])))
    assert shown.endswith("is 0.030 below its pivot (0.990); gap 95% CI [0.021, 0.041]: beyond the limit")
    (unclear,) = failures(_matrix(*GOOD["cells"], gap_cell([0.005, 0.06])))
    assert unclear.endswith("gap 95% CI [0.005, 0.060]: too few items to tell")


def test_a_matrix_without_unseen_cells_does_not_pass() -> None:
    assert failures(_matrix(_cell("en", "fr", "supervised", 1.0)))
    assert failures(_matrix())


def test_the_command_exits_1_on_failure_and_2_on_a_missing_file(tmp_path) -> None:
    bad = tmp_path / "matrix.json"
    bad.write_text(json.dumps(_matrix(*GOOD["cells"], _cell("de", "en", "supervised", 0.5))))
    run = [sys.executable, "-m", "plugmt.evaluation.gate"]
    failed = subprocess.run([*run, str(bad)], capture_output=True, text=True)
    assert failed.returncode == 1 and "de→en supervised exact 0.500" in failed.stderr
    missing = subprocess.run([*run, str(tmp_path / "none.json")], capture_output=True, text=True)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1
    good = tmp_path / "good.json"
    good.write_text(json.dumps(GOOD))
    assert subprocess.run([*run, str(good)], capture_output=True).returncode == 0
    # Looser limits, as CI sets them: the same 0.5 cell passes a floor of 0.4 and fails one of 0.6.
    floor = [*run, str(bad), "--supervised", "0.4"]
    assert subprocess.run(floor, capture_output=True).returncode == 0
    assert subprocess.run([*run, str(bad), "--supervised", "0.6"], capture_output=True).returncode == 1
