"""The figures: the matrix against its pivots, a stage's training curves. Each test checks the numbers
a figure draws (pure functions) and that the figure is written as a PNG; no training."""

import math

import numpy as np
import pytest

from plugmt.evaluation.figures import difference_grid, matrix_figure, matrix_title
from plugmt.evaluation.matrix import Cell, Matrix
from plugmt.evaluation.report import write_report
from plugmt.training.curves import curve_points, curves_figure, loss_steps

PNG = b"\x89PNG\r\n\x1a\n"


def _png_size(path):
    data = path.read_bytes()
    assert data[:8] == PNG
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def _cell(src, tgt, kind, exact, chrf, pivot=None):
    cell = Cell(src, tgt, kind, 50, exact, chrf, chrf - 10, decoder=f"{tgt}-1")
    if pivot is not None:
        cell.pivot = {"path": [src, "en", tgt], "exact": pivot[0], "chrf": pivot[1], "bleu": 0.0}
    return cell


@pytest.fixture
def matrix():
    return Matrix(
        "lstm-abc",
        "test",
        [
            _cell("en", "fr", "supervised", 0.9, 90.0),
            _cell("fr", "en", "supervised", 0.95, 96.0),
            _cell("fr", "de", "zero-shot", 0.5, 70.0, pivot=(0.8, 85.0)),
            _cell("de", "fr", "zero-shot", 0.6, 80.0),  # unseen, but no pivot path
            _cell("de", "es", "plugged", 0.7, 88.0, pivot=(0.6, 86.5)),
        ],
    )


def test_the_matrix_figure_colours_each_unseen_cell_by_its_own_pivot(matrix):
    grid = difference_grid(matrix, "exact")
    assert grid.sources == ["de", "en", "fr"] and grid.targets == ["de", "en", "es", "fr"]
    at = {(s, t): (i, j) for i, s in enumerate(grid.sources) for j, t in enumerate(grid.targets)}
    assert grid.differences[at["fr", "de"]] == pytest.approx(-0.3)
    assert grid.differences[at["de", "es"]] == pytest.approx(0.1)
    assert math.isnan(grid.differences[at["en", "fr"]])  # supervised: grey, not coloured
    assert math.isnan(grid.differences[at["de", "fr"]])  # no pivot to compare with
    assert (
        grid.values[at["en", "fr"]] == 0.9 and grid.kinds[at["de", "es"][0]][at["de", "es"][1]] == "plugged"
    )
    assert np.isnan(grid.values[at["en", "es"]]) and grid.kinds[at["en", "es"][0]][at["en", "es"][1]] is None
    chrf = difference_grid(matrix, "chrf")
    assert chrf.differences[at["fr", "de"]] == pytest.approx(-15.0)
    assert chrf.differences[at["de", "es"]] == pytest.approx(1.5)
    assert np.isfinite(chrf.differences).sum() == 2


def test_the_report_writes_the_two_panel_matrix_figure(matrix, tmp_path):
    write_report(matrix, tmp_path)
    width, height = _png_size(tmp_path / "matrix.png")
    assert width > 1.8 * height  # two panels side by side
    big = Matrix(
        "lstm-abc",
        "test",
        [_cell(s, t, "zero-shot", 0.5, 50.0, pivot=(0.6, 60.0)) for s in "abcdefghij" for t in "abcdefghij"],
    )
    matrix_figure(big, tmp_path / "big.png")
    assert _png_size(tmp_path / "big.png")[0] > width  # more languages, more room per cell


def test_the_figure_and_the_report_name_how_the_cells_were_decoded(matrix, tmp_path):
    first = matrix_title(matrix).splitlines()[0]
    assert first == "Zero-shot matrix · encoder lstm-abc · test split · n=50 items per cell"  # says nothing
    matrix.search = {"beam_size": 1, "length_penalty": 0.0}
    assert matrix_title(matrix).splitlines()[0].endswith("n=50 items per cell · greedy decoding")
    matrix.search = {"beam_size": 5, "length_penalty": 1.0}
    assert matrix_title(matrix).splitlines()[0].endswith(" · beam 5 with length penalty 1.0")
    write_report(matrix, tmp_path)
    report = (tmp_path / "matrix.md").read_text().splitlines()[0]
    assert report.endswith("n=50 items per cell, beam 5 with length penalty 1.0.")


def test_loss_steps_follow_log_every_and_end_at_the_last_step():
    assert loss_steps(5, 10, 45) == [10, 20, 30, 40, 45]  # the budget ended between two lines
    assert loss_steps(4, 10, 40) == [10, 20, 30, 40]
    assert loss_steps(3, 10, 37) == [10, 20, 30]  # patience stopped it at 37, after the line at 30


def test_the_curves_plot_the_recorded_steps_and_mark_the_kept_one(tmp_path):
    training = {
        "steps": 45,
        "seconds": 3.2,
        "loss": [2.0, 1.0, 0.5, 0.3, 0.25],
        "loss_every": 10,
        "stopped": "steps",
        "selected_step": 40,
        "selected_on": "loss",
        "validations": [[20, 40.0], [40, 80.0], [45, 79.0]],
        "validation_exact": [[20, 0.1], [40, 0.5], [45, 0.45]],
        "validation_loss": [[20, 1.2], [40, 0.4], [45, 0.41]],
        # train.watch_unseen: de->fr beside its pivot, es->fr without one
        "validation_unseen": [
            [20, [["de", "fr", 30.0, 35.0], ["es", "fr", 5.0, None]]],
            [40, [["de", "fr", 60.0, 58.0]]],
        ],
    }
    points = curve_points(training)
    assert points["loss"] == ([10, 20, 30, 40, 45], [2.0, 1.0, 0.5, 0.3, 0.25])
    assert points["valid_chrf"] == ([20, 40, 45], [40.0, 80.0, 79.0])
    assert points["valid_exact"] == ([20, 40, 45], [0.1, 0.5, 0.45])
    assert points["valid_loss"][1] == [1.2, 0.4, 0.41] and points["selected_step"] == 40
    assert points["valid_unseen"] == {
        "de-fr": {"cell": ([20, 40], [30.0, 60.0]), "pivot": ([20, 40], [35.0, 58.0])},
        "es-fr": {"cell": ([20], [5.0]), "pivot": ([], [])},
    }
    # A module stored before `loss_every` was recorded: its settings say how often losses were logged.
    old = {key: value for key, value in training.items() if key != "loss_every"}
    assert curve_points(old, log_every=10)["loss"][0] == [10, 20, 30, 40, 45]
    curves_figure({"training": training}, tmp_path / "curves-joint.png", "joint stage · encoder lstm-abc")
    width, height = _png_size(tmp_path / "curves-joint.png")
    assert width > 500 and height > 500
    # Never validated (train.validate_every=0): the loss alone, still a figure.
    curves_figure({"training": {"steps": 6, "loss": [1.0, 0.5]}}, tmp_path / "bare.png", "joint")
    assert _png_size(tmp_path / "bare.png")[0] > 500
