import json
import math
import subprocess
import sys

import pytest

from plugmt.cli.study_cli import main
from plugmt.errors import PlugmtError
from plugmt.evaluation.distribution import t95
from plugmt.evaluation.study import summarise
from plugmt.evaluation.study_report import study_markdown as markdown


def _cell(src, tgt, kind, exact, pivot=None, path=None):
    cell = {"src": src, "tgt": tgt, "kind": kind, "n": 300, "exact": exact, "pivot": None}
    if pivot is not None:
        cell["pivot"] = {"path": path or [src, "en", tgt], "exact": pivot}
    return cell


def _job(folder, name, overrides, cells=None, retrieval=(0.5,), raw=None):
    """A Hydra job folder; with `cells` (or `raw` text) a matrix.json, else none (a failed job)."""
    job = folder / name
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    if raw is not None:
        (job / "matrix.json").write_text(raw)
    elif cells is not None:
        diagnostics = [{"src": "de", "tgt": "fr", "retrieval": r} for r in retrieval]
        (job / "matrix.json").write_text(json.dumps({"cells": cells, "thought_diagnostics": diagnostics}))
    return job


# Three seeds of one configuration. Zero-shot per-seed means 0.6, 0.7, 0.8; each zero-shot cell
# has its own pivot, and the own-pivot ratios (0.5, 1.0 | 0.6, 1.0 | 0.9, 1.0) average to 0.8333,
# where a pooled pivot mean would give 0.7 / 0.8667 = 0.8077.
SEEDS = {
    0: [
        _cell("en", "fr", "supervised", 1.0),
        _cell("de", "en", "supervised", 0.9),
        _cell("fr", "de", "zero-shot", 0.5, pivot=1.0),
        _cell("de", "fr", "zero-shot", 0.7, pivot=0.7),
        _cell("en", "es", "plugged", 0.9, pivot=0.95, path=["en", "de", "es"]),
    ],
    1: [
        _cell("en", "fr", "supervised", 1.0),
        _cell("de", "en", "supervised", 1.0),
        _cell("fr", "de", "zero-shot", 0.6, pivot=1.0),
        _cell("de", "fr", "zero-shot", 0.8, pivot=0.8),
        _cell("en", "es", "plugged", 0.85, pivot=0.9, path=["en", "de", "es"]),
    ],
    2: [
        _cell("en", "fr", "supervised", 1.0),
        _cell("de", "en", "supervised", 0.8),
        _cell("fr", "de", "zero-shot", 0.9, pivot=1.0),
        _cell("de", "fr", "zero-shot", 0.7, pivot=0.7),
        _cell("en", "es", "plugged", 0.95, pivot=0.95, path=["en", "de", "es"]),
    ],
}


@pytest.fixture
def study(tmp_path):
    for seed, cells in SEEDS.items():
        retrieval = (0.4 + 0.1 * seed,)
        _job(tmp_path, str(seed), ["experiment=study", "encoder=lstm", f"seed={seed}"], cells, retrieval)
    _job(tmp_path, "3", ["experiment=study", "encoder=bridge", "seed=0"], SEEDS[0])
    return tmp_path


def _sd(values):
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def test_the_t_table():
    assert t95(1) == 12.706 and t95(2) == 4.303 and t95(30) == 2.042 and t95(31) == 1.96


def test_three_seeds_give_mean_sd_min_and_a_t_interval(study):
    rows = {row["configuration"]: row for row in summarise(study)["configurations"]}
    assert set(rows) == {"encoder=lstm", "encoder=bridge"}
    lstm = rows["encoder=lstm"]
    assert lstm["seeds"] == 3 and lstm["seed_values"] == ["0", "1", "2"]
    zero_shot = lstm["exact"]["zero-shot"]
    assert zero_shot["seed_means"] == pytest.approx([0.6, 0.7, 0.8])
    assert zero_shot["mean"] == pytest.approx(0.7) and zero_shot["sd"] == pytest.approx(0.1)
    half = 4.303 * 0.1 / math.sqrt(3)  # t(0.975, df=2) · sd / √3 = 0.24844
    assert zero_shot["ci95"] == pytest.approx([0.7 - half, 0.7 + half])
    assert zero_shot["min"] == 0.5 and zero_shot["min_seed_mean"] == pytest.approx(0.6)
    assert zero_shot["min_cell"] == "fr→de 0.50, seed 0" and zero_shot["cells"] == 6
    supervised = lstm["exact"]["supervised"]
    assert supervised["mean"] == pytest.approx(0.95) and supervised["sd"] == pytest.approx(0.05)
    assert supervised["ci95"] == pytest.approx(
        [0.95 - 4.303 * 0.05 / math.sqrt(3), 0.95 + 4.303 * 0.05 / math.sqrt(3)]
    )
    assert supervised["min_cell"] == "de→en 0.80, seed 2" and supervised["min_seed_mean"] == pytest.approx(
        0.9
    )
    pivot = lstm["exact"]["pivot"]
    assert pivot["seed_means"] == pytest.approx(
        [(1.0 + 0.7 + 0.95) / 3, (1.0 + 0.8 + 0.9) / 3, (1.0 + 0.7 + 0.95) / 3]
    )
    assert pivot["min_cell"] == "de→en→fr 0.70, seed 0"
    plugged = lstm["exact"]["plugged"]
    assert plugged["mean"] == pytest.approx(0.9) and plugged["sd"] == pytest.approx(0.05)
    assert lstm["retrieval"]["mean"] == pytest.approx(0.5) and lstm["retrieval"]["sd"] == pytest.approx(0.1)
    bridge = rows["encoder=bridge"]  # one seed: a value, but no spread and no interval
    assert bridge["seeds"] == 1 and bridge["exact"]["zero-shot"]["sd"] is None
    assert bridge["exact"]["zero-shot"]["ci95"] is None


def test_each_cell_is_compared_with_its_own_pivot_not_a_pooled_one(study):
    rows = {row["configuration"]: row for row in summarise(study)["configurations"]}
    own = rows["encoder=lstm"]["own_pivot"]["zero-shot"]
    ratio, gap = own["exact/pivot"], own["pivot-exact"]
    assert ratio["seed_means"] == pytest.approx([0.75, 0.8, 0.95])
    assert ratio["mean"] == pytest.approx(0.8333, abs=1e-4)  # pooled: 0.7 / 0.8667 = 0.8077
    assert ratio["sd"] == pytest.approx(_sd([0.75, 0.8, 0.95]))
    assert ratio["min"] == pytest.approx(0.5) and ratio["min_cell"] == "fr→de 0.50, seed 0"
    assert gap["seed_means"] == pytest.approx([0.25, 0.2, 0.05])
    assert gap["mean"] == pytest.approx(0.5 / 3) and gap["max"] == pytest.approx(0.5)
    assert gap["max_cell"] == "fr→de 0.50, seed 0"
    plugged = rows["encoder=lstm"]["own_pivot"]["plugged"]["exact/pivot"]
    assert plugged["seed_means"] == pytest.approx([0.9 / 0.95, 0.85 / 0.9, 1.0])
    assert "zero-shot/pivot" not in rows["encoder=lstm"]  # the pooled ratio is gone


def test_markdown_shows_seeds_intervals_and_the_worst_cells(study):
    result = summarise(study)
    table = markdown(result)
    assert "seeds per configuration: encoder=bridge 1, encoder=lstm 3." in table
    assert (
        "| encoder=lstm | 3 | zero-shot | 6 | 0.700 ± 0.100 | [0.452, 0.948] | 0.600 | fr→de 0.50, seed 0 |"
        in table
    )
    assert "| encoder=bridge | 1 | zero-shot | 2 | 0.600 | — (1 seed) | 0.600 | fr→de 0.50, seed 0 |" in table
    assert "| encoder=lstm | 3 | zero-shot | 6 | 0.833 ± 0.104 |" in table
    assert "Failed jobs" not in table
    assert json.loads(json.dumps(result)) == result  # --json prints it as is


def test_the_study_counts_where_each_gap_s_interval_puts_its_cell(tmp_path):
    def judged(src, tgt, kind, verdict):
        cell = _cell(src, tgt, kind, 0.95, pivot=0.97)
        if verdict:  # a matrix written before gaps were measured has none
            cell["pivot"]["exact_gap"] = {
                "gap": 0.02,
                "ci": [0.0, 0.04],
                "discordant": [6, 0],
                "verdict": verdict,
            }
        return cell

    seeds = [
        [judged("fr", "de", "zero-shot", "within"), judged("de", "fr", "zero-shot", "beyond")],
        [judged("fr", "de", "zero-shot", "within"), judged("de", "fr", "zero-shot", "undecided")],
        [judged("fr", "de", "zero-shot", "within"), judged("de", "fr", "zero-shot", None)],
    ]
    for seed, cells in enumerate(seeds):
        _job(
            tmp_path,
            str(seed),
            ["encoder=lstm", f"seed={seed}"],
            [_cell("en", "fr", "supervised", 1.0), *cells],
        )
    (row,) = summarise(tmp_path)["configurations"]
    counts = row["own_pivot"]["zero-shot"]["gap_verdicts"]
    assert counts == {"within": 3, "beyond": 1, "undecided": 1, "untested": 1}
    text = markdown(summarise(tmp_path)).split("within / beyond / undecided")[1]
    line = next(line for line in text.splitlines() if "| zero-shot | 6 |" in line)
    assert line.endswith("| 3 / 1 / 1 + 1 untested |")


def test_failed_jobs_are_listed_and_the_rest_is_summarised(tmp_path, capsys):
    _job(tmp_path, "0", ["encoder=lstm", "seed=0"], SEEDS[0])
    _job(tmp_path, "1", ["encoder=lstm", "seed=1"])  # killed before its eval stage
    _job(tmp_path, "2", ["encoder=lstm", "seed=2"], raw="{not json")
    _job(tmp_path, "3", ["encoder=bridge", "seed=0"], raw=json.dumps({"cells": []}))
    _job(tmp_path, "4", ["encoder=bridge", "seed=1"], raw=json.dumps({"cells": [{"kind": "supervised"}]}))
    result = summarise(tmp_path)
    assert [row["configuration"] for row in result["configurations"]] == ["encoder=lstm"]
    assert result["configurations"][0]["seeds"] == 1 and result["configurations"][0]["failed"] == 2
    failed = {job["job"]: job for job in result["failed"]}
    assert set(failed) == {"1", "2", "3", "4"}
    assert failed["1"]["overrides"] == ["encoder=lstm", "seed=1"]
    assert failed["1"]["problem"].startswith("no matrix.json")
    assert failed["2"]["problem"].startswith("matrix.json is not valid JSON")
    assert failed["3"]["problem"] == "matrix.json has no cells"
    assert "cell 0 lacks" in failed["4"]["problem"]
    main([str(tmp_path)])
    out, err = capsys.readouterr()
    assert "| encoder=lstm | 1 (+2 failed) | zero-shot |" in out
    assert "Failed jobs (4 of 5" in out
    assert "| 1 | encoder=lstm seed=1 | no matrix.json" in out
    assert err.splitlines() == [
        "plugmt-study: 4 of 5 jobs failed; they are listed in the output and left out of the summary",
        f"plugmt-study: wrote {tmp_path / 'study.png'}",  # the figure of the jobs that did not fail
    ]
    main([str(tmp_path), "--json"])
    assert len(json.loads(capsys.readouterr().out)["failed"]) == 4


def test_a_study_whose_every_job_failed_is_one_line_and_exit_2(tmp_path, capsys):
    _job(tmp_path, "0", ["encoder=lstm", "seed=0"])
    _job(tmp_path, "1", ["encoder=lstm", "seed=1"], raw="")
    with pytest.raises(SystemExit) as stop:
        main([str(tmp_path)])
    out, err = capsys.readouterr()
    assert stop.value.code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("plugmt: error: all 2 jobs under ")
    assert "0: no matrix.json" in err and "1: matrix.json is not valid JSON" in err


def test_a_folder_without_jobs_says_what_to_run(tmp_path, capsys):
    with pytest.raises(PlugmtError, match=r"no matrix\.json under"):
        summarise(tmp_path)
    with pytest.raises(SystemExit) as stop:
        main([str(tmp_path / "nowhere")])
    assert stop.value.code == 2
    assert capsys.readouterr().err.startswith("plugmt: error: ")


def test_the_study_plot_draws_each_kind_s_mean_interval_and_minima(study, capsys):
    from plugmt.evaluation.figures import study_points

    result = summarise(study)
    points = {(p["configuration"], p["kind"]): p for p in study_points(result, "exact")}
    zero_shot = points["encoder=lstm", "zero-shot"]
    half = 4.303 * 0.1 / math.sqrt(3)
    assert zero_shot["mean"] == pytest.approx(0.7) and zero_shot["ci95"] == pytest.approx(
        [0.7 - half, 0.7 + half]
    )
    assert zero_shot["min_seed_mean"] == pytest.approx(0.6) and zero_shot["min"] == 0.5
    assert points["encoder=bridge", "plugged"]["ci95"] is None  # one seed: a point, no bar
    assert {kind for _, kind in points} == {"supervised", "zero-shot", "plugged", "pivot"}
    assert study_points(result, "chrf") == []  # these matrices carry no chrF: one panel
    main([str(study)])
    assert (study / "study.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {study / 'study.png'}" in capsys.readouterr().err


def test_the_study_summarises_chrf_when_the_matrices_have_it(tmp_path):
    for seed, chrf in ((0, 80.0), (1, 90.0)):
        cells = [
            {**_cell("en", "fr", "supervised", 1.0), "chrf": 99.0},
            {**_cell("fr", "de", "zero-shot", 0.5, pivot=1.0), "chrf": chrf},
        ]
        cells[1]["pivot"]["chrf"] = 95.0
        _job(tmp_path, str(seed), ["encoder=lstm", f"seed={seed}"], cells)
    row = summarise(tmp_path)["configurations"][0]
    assert row["chrf"]["zero-shot"]["mean"] == pytest.approx(85.0)
    assert row["chrf"]["pivot"]["mean"] == pytest.approx(95.0) and row["chrf"]["supervised"]["sd"] == 0.0
    main([str(tmp_path)])
    assert (tmp_path / "study.png").is_file()


def _scored(src, tgt, kind, bleu, chrf, pivot=None, p=None):
    """A real-sentence cell: BLEU and chrF, and a pivot (bleu, chrf) with the paired bootstrap's p."""
    cell = {**_cell(src, tgt, kind, 0.05, pivot=None if pivot is None else 0.05), "bleu": bleu, "chrf": chrf}
    if pivot is not None:
        cell["pivot"] |= {"bleu": pivot[0], "chrf": pivot[1]}
        if p is not None:
            cell["pivot"]["paired_bootstrap"] = {m: {"p": p[i]} for i, m in enumerate(("bleu", "chrf"))}
    return cell


def test_real_sentences_compare_each_cell_with_its_pivot_in_bleu_and_chrf(tmp_path):
    # Zero-shot − pivot in BLEU per seed: (-5, +1) -> -2, and (-3, -1) -> -2; chrF (-2, +2) -> 0 and
    # (-4, 0) -> -2. The paired bootstrap's p decides below / level / above, not the sign alone.
    seeds = {
        0: [
            _scored("en", "de", "supervised", 35.0, 60.0),
            _scored("de", "fr", "zero-shot", 25.0, 50.0, pivot=(30.0, 52.0), p=(0.001, 0.01)),
            _scored("fr", "de", "zero-shot", 24.0, 52.0, pivot=(23.0, 50.0), p=(0.30, 0.02)),
        ],
        1: [
            _scored("en", "de", "supervised", 33.0, 58.0),
            _scored("de", "fr", "zero-shot", 27.0, 48.0, pivot=(30.0, 52.0), p=(0.04, 0.001)),
            _scored("fr", "de", "zero-shot", 22.0, 50.0, pivot=(23.0, 50.0)),
        ],
    }
    for seed, cells in seeds.items():
        _job(tmp_path, str(seed), ["experiment=multi30k", f"seed={seed}"], cells)
    row = summarise(tmp_path)["configurations"][0]
    assert row["bleu"]["supervised"]["mean"] == pytest.approx(34.0)
    assert row["bleu"]["pivot"]["mean"] == pytest.approx(26.5)
    bleu, chrf = (row["own_pivot"]["zero-shot"][f"{m}:cell-pivot"] for m in ("bleu", "chrf"))
    assert bleu["mean"] == pytest.approx(-2.0) and bleu["sd"] == pytest.approx(0.0)
    assert bleu["min_cell"] == "de→fr -5.00, seed 0"
    assert chrf["seed_means"] == pytest.approx([0.0, -2.0])
    assert bleu["verdicts"] == {"below": 2, "level": 1, "above": 0, "untested": 1}
    assert chrf["verdicts"] == {"below": 2, "level": 0, "above": 1, "untested": 1}
    text = markdown(summarise(tmp_path))
    expected = "| -2.00 ± 0.00 | [-2.00, -2.00] | de→fr -5.00, seed 0 | 2 / 1 / 0 (1 untested) |"
    assert "| zero-shot | BLEU | 4 " + expected in text
    assert "| supervised | chrF | 2 | 59.00 ± 1.41 |" in text
    for job in ("0", "1"):  # supervised cells only: no own-pivot table, not even its header
        (tmp_path / job / "matrix.json").write_text(json.dumps({"cells": seeds[int(job)][:1]}))
    text = markdown(summarise(tmp_path))
    assert "| supervised | BLEU | 2 | 34.00 ± 1.41 |" in text and "cell − pivot" not in text


def test_the_study_command_reads_matrices_without_starting_tensorflow(study):
    # A fresh interpreter: this one started TensorFlow already (conftest). No model runs in a study,
    # so TensorFlow's start-up lines (and its seconds) have no reason to be there.
    code = (
        "import sys\nfrom plugmt.cli.study_cli import main\n"
        f"main([{str(study)!r}])\nprint('tensorflow imported:', 'tensorflow' in sys.modules)"
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "| encoder=lstm | 3 | supervised |" in run.stdout
    assert run.stdout.rstrip().endswith("tensorflow imported: False")
    assert run.stderr.strip() == f"plugmt-study: wrote {study / 'study.png'}"


def test_the_study_says_where_cells_fail_by_group_over_seeds(tmp_path):
    # Seed 0: zero-shot cells get 2/4 and 4/4 of the date_range family (mean 0.75), seed 1: 1/4 and
    # 3/4 (0.5); over seeds 0.625 ± sd(0.75, 0.5), the worst cell fr→de 0.25 on seed 1. A malformed
    # count is skipped.
    shares = {0: ((2, 4), (4, 4)), 1: ((1, 4), (3, 4))}
    for seed, ((a, n), (b, m)) in shares.items():
        cells = [
            {**_cell("fr", "de", "zero-shot", 0.5, pivot=1.0), "by_group": {"date_range": [a, n]}},
            {
                **_cell("de", "fr", "zero-shot", 0.5, pivot=1.0),
                "by_group": {"date_range": [b, m], "x": "bad"},
            },
            {**_cell("en", "fr", "supervised", 1.0), "by_group": {"date_range": [4, 4], "cardinal": [1, 2]}},
        ]
        _job(tmp_path, str(seed), ["encoder=lstm", f"seed={seed}"], cells)
    row = summarise(tmp_path)["configurations"][0]
    block = row["by_group"]["zero-shot"]["date_range"]
    assert block["mean"] == pytest.approx(0.625) and block["sd"] == pytest.approx(_sd([0.75, 0.5]))
    assert block["min_cell"] == "fr→de 0.25, seed 1" and block["min_seed_mean"] == pytest.approx(0.5)
    assert set(row["by_group"]["zero-shot"]) == {"date_range"}
    assert row["by_group"]["supervised"]["cardinal"]["mean"] == pytest.approx(0.5)
    text = markdown(summarise(tmp_path))
    assert "| zero-shot | date_range | 4 | 0.625 ± 0.177 | 0.500 | fr→de 0.25, seed 1 |" in text


def test_the_study_gives_the_thought_distances_by_group_over_seeds(tmp_path):
    # Seed 0: fr and ja at 0.01 and 0.09 from en on currency (mean 0.05); seed 1: 0.03 and 0.31
    # (0.17); over seeds 0.11 ± sd(0.05, 0.17), the farthest source ja on seed 1. A malformed row is
    # skipped; a matrix without distances adds no table.
    for seed, (fr, ja) in {0: (0.01, 0.09), 1: (0.03, 0.31)}.items():
        job = _job(tmp_path, str(seed), ["encoder=lstm", f"seed={seed}"], SEEDS[seed])
        matrix = json.loads((job / "matrix.json").read_text())
        matrix["thought_distances"] = [
            {"src": "fr", "to": "en", "group": "currency", "n": 4, "distance": fr},
            {"src": "ja", "to": "en", "group": "currency", "n": 4, "distance": ja},
            {"src": "de", "to": "en", "group": "currency", "n": 4, "distance": "far"},
        ]
        (job / "matrix.json").write_text(json.dumps(matrix))
    row = summarise(tmp_path)["configurations"][0]
    block = row["thought_distances"]["currency"]
    assert block["mean"] == pytest.approx(0.11) and block["sd"] == pytest.approx(_sd([0.05, 0.17]))
    assert block["max_cell"] == "ja→en 0.31, seed 1" and block["cells"] == 4
    assert "| encoder=lstm | 2 | currency | 4 | 0.110 ± 0.085 | 0.170 | ja→en 0.31, seed 1 |" in markdown(
        summarise(tmp_path)
    )
    _job(tmp_path / "plain", "0", ["encoder=lstm", "seed=0"], SEEDS[0])
    assert "thought_distances" not in summarise(tmp_path / "plain")["configurations"][0]
    assert "Distance of the sources' thoughts" not in markdown(summarise(tmp_path / "plain"))


def test_a_configuration_named_by_a_whole_command_is_labelled_once_and_short_in_tables(tmp_path):
    long = ["data=phrasebook_full", "data.vocab_type=bpe", "data.vocab_size=500", "train.epochs=4"]
    for seed in (0, 1):
        _job(tmp_path / "a", str(seed), [*long, f"seed={seed}"], SEEDS[seed])
        _job(tmp_path / "b", str(seed), [*long, "model=bridge", f"seed={seed}"], SEEDS[seed])
    study = summarise(tmp_path)
    assert [row["label"] for row in study["configurations"]] == ["c1", "c2"]
    text = markdown(study)
    assert f"- c1: `{' '.join(long)}`" in text and f"- c2: `{' '.join([*long, 'model=bridge'])}`" in text
    assert "| c2 | 2 | zero-shot |" in text and text.count(" ".join(long)) == 2
    _job(tmp_path / "short", "0", ["encoder=lstm", "seed=0"], SEEDS[0])
    assert summarise(tmp_path / "short")["configurations"][0]["label"] == "encoder=lstm"
