import json

import pytest

from plugmt.errors import PlugmtError
from plugmt.workflows.study import markdown, summarise


def _job(folder, name, overrides, supervised, zero_shot, plugged, pivot):
    job = folder / name
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    cells = [
        {"kind": "supervised", "exact": supervised, "pivot": None},
        {"kind": "zero-shot", "exact": zero_shot, "pivot": {"exact": pivot}},
        {"kind": "plugged", "exact": plugged, "pivot": {"exact": pivot}},
    ]
    diagnostics = [{"retrieval": 0.5}]
    (job / "matrix.json").write_text(json.dumps({"cells": cells, "thought_diagnostics": diagnostics}))


def test_seeds_of_one_configuration_are_averaged_with_the_deciding_ratios(tmp_path):
    _job(tmp_path, "0", ["experiment=study", "encoder=lstm", "seed=0"], 1.0, 0.8, 0.6, 1.0)
    _job(tmp_path, "1", ["experiment=study", "encoder=lstm", "seed=1"], 1.0, 0.6, 0.4, 1.0)
    _job(tmp_path, "2", ["experiment=study", "encoder=bridge", "seed=0"], 0.5, 0.5, 0.5, 0.25)
    rows = {row["configuration"]: row for row in summarise(tmp_path)}
    assert set(rows) == {"encoder=lstm", "encoder=bridge"}
    lstm, bridge = rows["encoder=lstm"], rows["encoder=bridge"]
    assert lstm["seeds"] == 2 and lstm["zero-shot"] == pytest.approx(0.7)
    assert lstm["plugged/supervised"] == pytest.approx(0.5) and lstm["zero-shot_sd"] > 0
    assert bridge["plugged/pivot"] == pytest.approx(2.0)
    table = markdown(summarise(tmp_path))
    assert "| encoder=lstm | 2 | 1.000 ± 0.000 | 0.700 ± 0.141 |" in table


def test_a_folder_without_matrices_says_what_to_run(tmp_path):
    with pytest.raises(PlugmtError, match=r"no matrix\.json under"):
        summarise(tmp_path)
