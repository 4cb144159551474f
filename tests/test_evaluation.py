import json

import numpy as np
import pytest

from plugmt.corpora.corpus import load_corpus
from plugmt.errors import PlugmtError
from plugmt.workflows.evaluation import score, zero_shot_matrix
from plugmt.workflows.report import write_report
from plugmt.workflows.translator import Translator


@pytest.fixture(scope="module")
def matrix(trained):
    translator = Translator(trained["store"], trained["encoder"])
    corpus = load_corpus(trained["cfg"].data)
    return zero_shot_matrix(translator, corpus, max_items=10)


def test_every_cell_is_labelled_by_how_its_decoder_was_trained(matrix):
    kinds = {(c.src, c.tgt): c.kind for c in matrix.cells}
    assert kinds == {
        ("de", "en"): "supervised",
        ("fr", "en"): "supervised",
        ("en", "fr"): "supervised",
        ("en", "de"): "supervised",
        ("de", "fr"): "zero-shot",
        ("fr", "de"): "zero-shot",
        ("de", "es"): "supervised",
        ("en", "es"): "plugged",
        ("fr", "es"): "plugged",
    }


def test_non_supervised_cells_carry_the_shortest_pivot(matrix):
    pivots = {(c.src, c.tgt): c.pivot["path"] for c in matrix.cells if c.pivot}
    assert pivots == {
        ("de", "fr"): ["de", "en", "fr"],
        ("fr", "de"): ["fr", "en", "de"],
        ("en", "es"): ["en", "de", "es"],
        ("fr", "es"): ["fr", "en", "de", "es"],
    }
    assert all(c.pivot is None for c in matrix.cells if c.kind == "supervised")


def test_scores_come_from_sacrebleu(matrix):
    assert matrix.signatures["bleu"].startswith("nrefs:1|case:mixed")
    assert "nc:6" in matrix.signatures["chrf"]
    assert score(["a b c d"], ["a b c d"]) == {"exact": 1.0, "chrf": 100.0, "bleu": 100.0}
    assert score(["x"], ["a b c d"])["bleu"] == 0.0


def test_report_writes_json_markdown_and_heatmap(matrix, tmp_path):
    text = write_report(matrix, tmp_path)
    saved = json.loads((tmp_path / "matrix.json").read_text())
    assert len(saved["cells"]) == 9
    assert set(saved["cells"][0]) >= {"src", "tgt", "kind", "exact", "chrf", "bleu", "n", "pivot"}
    assert "| de→fr | zero-shot |" in text and "de→en→fr" in text
    assert (tmp_path / "matrix.png").read_bytes()[:4] == b"\x89PNG"


def test_an_unknown_decoder_in_eval_is_refused(trained):
    translator = Translator(trained["store"], trained["encoder"])
    with pytest.raises(PlugmtError, match="no decoder 'it' in the store"):
        zero_shot_matrix(translator, load_corpus(trained["cfg"].data), decoders=["it"])


def test_retrieval_on_hand_made_vectors():
    from plugmt.workflows.diagnostics import retrieval_scores

    a = np.eye(3)
    assert retrieval_scores(a, a * 5) == {"retrieval": 1.0, "same_cosine": 1.0, "different_cosine": 0.0}
    swapped = retrieval_scores(a, a[[1, 0, 2]])
    assert swapped["retrieval"] == pytest.approx(1 / 3, abs=1e-4)
    assert swapped["same_cosine"] == pytest.approx(1 / 3, abs=1e-4)


def test_matrix_carries_thought_diagnostics_for_every_source_pair(matrix):
    pairs = {(d["src"], d["tgt"]) for d in matrix.diagnostics}
    assert pairs == {(a, b) for a in ("de", "en", "fr") for b in ("de", "en", "fr") if a != b}
    assert all(0.0 <= d["retrieval"] <= 1.0 for d in matrix.diagnostics)
