import json
import os

import numpy as np
import pytest

from plugmt.corpora.corpus import load_corpus
from plugmt.errors import PlugmtError
from plugmt.evaluation.matrix import Cell, Matrix, pivot_scores, zero_shot_matrix
from plugmt.evaluation.metrics import (
    bootstrap_interval,
    bootstrap_verdict,
    exact_gap,
    gap_verdict,
    paired_bootstrap,
    paired_difference_interval,
    score,
    wilson_interval,
)
from plugmt.evaluation.report import markdown, write_report
from plugmt.inference.translator import Translator


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


def test_the_report_gives_the_slot_overlap_of_an_encoder_with_slots_and_keeps_it(matrix, tmp_path):
    """The LSTM's matrix has no slot line; one with overlaps shows them by source and keeps them in
    matrix.json (a study reads them back)."""
    import dataclasses

    from plugmt.evaluation.matrix import Matrix

    assert matrix.slot_overlap == {} and "Slot overlap" not in write_report(matrix, tmp_path / "lstm")
    slots = dataclasses.replace(matrix, slot_overlap={"en": 0.5, "de": 1.234})
    text = write_report(slots, tmp_path / "bridge")
    assert (
        "read the same source positions" in text
        and "own, 1 in pairs, K − 1 all on one): de 1.23, en 0.50" in text
    )
    back = Matrix.from_json(json.loads((tmp_path / "bridge" / "matrix.json").read_text()))
    assert back.slot_overlap == {"en": 0.5, "de": 1.234}


def test_an_unknown_decoder_in_eval_is_refused(trained):
    translator = Translator(trained["store"], trained["encoder"])
    with pytest.raises(PlugmtError, match="no decoder 'it' in the store"):
        zero_shot_matrix(translator, load_corpus(trained["cfg"].data), decoders=["it"])


def test_retrieval_on_hand_made_vectors():
    from plugmt.evaluation.diagnostics import retrieval_scores

    a = np.eye(3)
    assert retrieval_scores(a, a * 5) == {"retrieval": 1.0, "same_cosine": 1.0, "different_cosine": 0.0}
    swapped = retrieval_scores(a, a[[1, 0, 2]])
    assert swapped["retrieval"] == pytest.approx(1 / 3, abs=1e-4)
    assert swapped["same_cosine"] == pytest.approx(1 / 3, abs=1e-4)


def test_matrix_carries_thought_diagnostics_for_every_source_pair(matrix, trained):
    """Every ordered pair of sources, each scored on that pair's own thoughts of the sample (the
    matrix encodes each source once for retrieval and distances: a mix-up of languages shows here)."""
    from plugmt.corpora.corpus import sample_rows
    from plugmt.evaluation.diagnostics import retrieval_scores

    pairs = {(d["src"], d["tgt"]) for d in matrix.diagnostics}
    assert pairs == {(a, b) for a in ("de", "en", "fr") for b in ("de", "en", "fr") if a != b}
    corpus = load_corpus(trained["cfg"].data)
    rows = sample_rows(len(corpus.groups("test")), 10)
    translator = Translator(trained["store"], trained["encoder"])
    pooled = {
        lang: np.concatenate(translator.encode([corpus.texts("test", lang)[i] for i in rows]).states, axis=-1)
        for lang in ("en", "fr")
    }
    found = next(d for d in matrix.diagnostics if (d["src"], d["tgt"]) == ("fr", "en"))
    assert found["same_cosine"] == pytest.approx(
        retrieval_scores(pooled["fr"], pooled["en"])["same_cosine"], abs=1e-3
    )


class _Thought:
    """A thought's two views, as the real Thought gives them: `whole` is `pooled` unless given."""

    def __init__(self, pooled, whole=None):
        self._pooled = pooled
        self._whole = pooled if whole is None else whole

    def pooled(self):
        return self._pooled

    def whole(self):
        return self._whole


class _MeaningEncoder:
    """A fake encoder like the real ones (`encode(ids).pooled()`): an item's thought is a fixed
    random vector for the meaning its first token id names, whatever the language."""

    def __init__(self, meanings: int, dim: int = 32):
        import tensorflow as tf

        self.table = tf.constant(np.random.default_rng(0).normal(size=(meanings, dim)), tf.float32)

    def encode(self, ids):
        import tensorflow as tf

        return _Thought(tf.gather(self.table, ids[:, 0]))


class _MeaningVocab:
    """Every word of every language to the id of its meaning: `encode_padded` as the real Vocab's."""

    def __init__(self, ids: dict[str, int]):
        self.ids = ids

    def encode_padded(self, texts):
        return np.array([[self.ids[t]] for t in texts], dtype=np.int32)


def test_retrieval_is_perfect_for_language_neutral_thoughts_and_chance_for_shuffled_ones():
    from plugmt.evaluation.diagnostics import thought_diagnostics

    n = 60
    english = [f"en{i}" for i in range(n)]
    french = [f"fr{i}" for i in range(n)]
    german = [f"de{i}" for i in range(n)]
    shuffled = np.random.default_rng(1).permutation(n)
    ids = {**{f"en{i}": i for i in range(n)}, **{f"fr{i}": i for i in range(n)}}
    ids |= {f"de{i}": int(shuffled[i]) for i in range(n)}  # German item i lands on another meaning
    found = thought_diagnostics(
        _MeaningEncoder(n), _MeaningVocab(ids), {"en": english, "fr": french, "de": german}
    )
    by_pair = {(d["src"], d["tgt"]): d for d in found}
    assert len(found) == 6
    assert by_pair["en", "fr"]["retrieval"] == by_pair["fr", "en"]["retrieval"] == 1.0
    assert by_pair["en", "fr"]["same_cosine"] == pytest.approx(1.0, abs=1e-4)
    fixed_points = float(np.mean(shuffled == np.arange(n)))  # the only items a shuffle leaves in place
    for pair in (("en", "de"), ("de", "en"), ("fr", "de")):
        assert by_pair[pair]["retrieval"] == pytest.approx(fixed_points, abs=1e-4)
        assert by_pair[pair]["retrieval"] < 0.1  # chance is 1/60
        assert by_pair[pair]["same_cosine"] < 0.5


class _SlotsLikeEncoder(_MeaningEncoder):
    """Ids [meaning, language]: the pooled view is the meaning's vector alone (language-neutral);
    the whole view adds a vector of the language, as slots that keep some of their source would."""

    def __init__(self, meanings: int, languages: int, dim: int = 32):
        import tensorflow as tf

        super().__init__(meanings, dim)
        self.accent = tf.constant(np.random.default_rng(1).normal(size=(languages, dim)), tf.float32)

    def encode(self, ids):
        import tensorflow as tf

        meaning = tf.gather(self.table, ids[:, 0])
        return _Thought(meaning, tf.concat([meaning, tf.gather(self.accent, ids[:, 1])], axis=-1))

    def encode_with_overlap(self, ids):
        return self.encode(ids), None  # as an encoder without slots' attention: no overlap


def test_the_space_report_reads_retrieval_from_pooled_thoughts_and_distances_from_whole_ones():
    """Retrieval on the pooled view, distances on the whole one (for slots the two differ: a swap of
    the views would make these language-neutral thoughts look apart and the accented ones alike)."""
    from types import SimpleNamespace

    from plugmt.evaluation.diagnostics import group_distances, space_report

    n, langs = 12, ("en", "fr", "de")
    texts = {lang: [f"{lang}{i}" for i in range(n)] for lang in langs}

    class Vocab:
        def encode_padded(self, items):
            return np.array([[int(t[2:]), langs.index(t[:2])] for t in items], dtype=np.int32)

    encoder = _SlotsLikeEncoder(n, len(langs))
    reader = SimpleNamespace(encoder=encoder, source_vocab=Vocab(), encoder_module=SimpleNamespace(id="enc"))
    groups = ["a"] * 6 + ["b"] * 6
    diagnostics, distances, _ = space_report(reader, {lang: reader for lang in langs}, texts, groups)
    assert {(d["src"], d["tgt"]) for d in diagnostics} == {(a, b) for a in langs for b in langs if a != b}
    assert all(d["retrieval"] == 1.0 for d in diagnostics)
    assert all(d["same_cosine"] == pytest.approx(1.0, abs=1e-4) for d in diagnostics)
    whole = {
        lang: np.concatenate([encoder.table.numpy()[:n], np.tile(encoder.accent.numpy()[k], (n, 1))], axis=1)
        for k, lang in enumerate(langs)
    }
    expected = group_distances(whole, groups, "en")
    assert [(d["src"], d["group"]) for d in distances] == [("fr", "a"), ("fr", "b"), ("de", "a"), ("de", "b")]
    for found, wanted in zip(distances, expected, strict=True):
        assert found["distance"] == pytest.approx(wanted["distance"], abs=1e-3) and found["distance"] > 0.05
    assert space_report(reader, {lang: reader for lang in langs}, texts, None)[1] == []


def test_slot_overlap_is_given_per_source_for_encoders_with_slots_only():
    """The matrix's slot overlap of a language is the mean over its texts of the bridge's penalty,
    from the pass that encodes the space's thoughts; a language read by an encoder without slots has none."""
    from types import SimpleNamespace

    import tensorflow as tf

    from plugmt.evaluation.diagnostics import space_report
    from plugmt.registry import build_encoder

    class Vocab:
        def encode_padded(self, items):
            longest = max(len(t) for t in items)
            return np.array([[int(c) + 1 for c in t] + [0] * (longest - len(t)) for t in items], np.int32)

    bridge = build_encoder({"name": "bridge", "d_model": 8, "slots": 3, "attention_units": 4}, vocab_size=11)
    lstm = build_encoder({"name": "lstm", "embed_dim": 4, "units": 4}, vocab_size=11)
    for i, weight in enumerate(bridge.weights):
        weight.assign(tf.random.stateless_normal(weight.shape, seed=[3, i]))
    texts = {"en": ["1234", "56", "789", "1", "22222"], "fr": ["12", "345"]}
    readers = {
        "en": SimpleNamespace(encoder=bridge, source_vocab=Vocab(), encoder_module=SimpleNamespace(id="b")),
        "fr": SimpleNamespace(encoder=lstm, source_vocab=Vocab(), encoder_module=SimpleNamespace(id="l")),
    }
    found = space_report(readers["en"], readers, texts, None)[2]
    assert set(found) == {"en"}
    one_by_one = [
        float(bridge.encode_with_overlap(tf.constant(Vocab().encode_padded([t])))[1][0]) for t in texts["en"]
    ]
    assert found["en"] == pytest.approx(np.mean(one_by_one), abs=1e-4)
    assert one_by_one[3] == pytest.approx(2.0, abs=1e-5)  # one token: all 3 slots on it
    assert len({round(v, 3) for v in one_by_one}) > 2


def test_wilson_interval_matches_published_values():
    # Newcombe (1998), Statistics in Medicine 17:857, table I, method 3 (score interval).
    assert wilson_interval(81, 263) == pytest.approx([0.2553, 0.3662], abs=1e-4)
    assert wilson_interval(15, 148) == pytest.approx([0.0624, 0.1605], abs=1e-4)
    assert wilson_interval(0, 20) == pytest.approx([0.0, 0.1611], abs=1e-4)
    assert wilson_interval(1, 29) == pytest.approx([0.0061, 0.1718], abs=1e-4)
    assert wilson_interval(10, 10) == pytest.approx([0.7225, 1.0], abs=1e-4)


def test_paired_difference_interval_matches_newcombes_published_values():
    # Newcombe (1998), Statistics in Medicine 17:2635, method 10: (both, first only, second only, neither)
    assert paired_difference_interval(36, 12, 2, 0) == pytest.approx([0.0569, 0.3404], abs=1e-4)
    assert paired_difference_interval(18, 12, 2, 18) == pytest.approx([0.0562, 0.3290], abs=1e-4)
    assert paired_difference_interval(53, 0, 0, 1) == pytest.approx([-0.0729, 0.0729], abs=1e-4)
    # Swapping the two proportions mirrors the interval.
    assert paired_difference_interval(36, 2, 12, 0) == pytest.approx([-0.3404, -0.0569], abs=1e-4)


def test_the_gap_to_the_pivot_counts_the_items_each_got_right_and_judges_the_margin():
    references = [f"r{i}" for i in range(2000)]
    # The pivot right on every item, the cell wrong on 10 of them: gap 0.005, shown within 0.02.
    cell = ["x" if i < 10 else r for i, r in enumerate(references)]
    gap = exact_gap(cell, references, references)
    assert gap["gap"] == 0.005 and gap["discordant"] == [10, 0] and gap["verdict"] == "within"
    assert gap["ci"][0] < 0.005 < gap["ci"][1] <= 0.02
    # Wrong on 200 and right on 20 the pivot misses: gap 0.09, shown beyond 0.02.
    pivot = ["y" if 1000 <= i < 1020 else r for i, r in enumerate(references)]
    cell = ["x" if i < 200 else r for i, r in enumerate(references)]
    gap = exact_gap(cell, pivot, references)
    assert gap["discordant"] == [200, 20] and gap["gap"] == 0.09 and gap["verdict"] == "beyond"
    # The same 0.005 gap on 100 items: the interval spans 0.02, so the items cannot tell.
    few = exact_gap(["x", *references[1:100]], references[:100], references[:100])
    assert few["gap"] == 0.01 and few["verdict"] == "undecided"
    assert gap_verdict([-0.01, 0.02]) == "within" and gap_verdict([0.021, 0.03]) == "beyond"


def test_a_matrix_counts_where_the_paired_bootstrap_puts_each_cell_against_its_pivot():
    # p < 0.05 decides below or above by the scores; p >= 0.05 is level; no p is untested.
    assert bootstrap_verdict(20.0, 25.0, 0.01) == "below" and bootstrap_verdict(26.0, 25.0, 0.049) == "above"
    assert (
        bootstrap_verdict(20.0, 25.0, 0.05) == "level" and bootstrap_verdict(20.0, 25.0, None) == "untested"
    )

    def cell(src: str, kind: str, bleu: float, chrf: float, p_bleu: float, p_chrf: float) -> Cell:
        pivot = {
            "path": [src, "en", "cs"],
            "exact": 0.0,
            "bleu": 20.0,
            "chrf": 50.0,
            "paired_bootstrap": {"bleu": {"p": p_bleu}, "chrf": {"p": p_chrf}},
        }
        return Cell(src, "cs", kind, 1000, 0.0, chrf, bleu, "d", pivot=pivot)

    cells = [
        cell("de", "plugged", 15.0, 45.0, 0.001, 0.001),  # below in both
        cell("fr", "plugged", 19.5, 52.0, 0.3, 0.01),  # BLEU level, chrF above
        cell("de", "zero-shot", 22.0, 49.0, 0.02, 0.4),  # BLEU above, chrF level
    ]
    text = markdown(Matrix("enc", "test", cells))
    assert (
        "cells below / level / above it: plugged: BLEU 1 / 1 / 0, chrF 1 / 0 / 1; zero-shot: BLEU 0 / 0 / 1,"
        " chrF 0 / 1 / 0." in text
    )
    assert "Gap to the pivot" not in text  # no exact-match gap was measured in these cells


def test_paired_bootstrap_is_sacrebleus_repeatable_and_honest_about_identical_outputs(monkeypatch):
    monkeypatch.setenv("SACREBLEU_SEED", "none")  # sacrebleu unseeded: the matrix must seed it anyway
    words = [f"w{i}" for i in range(16)]
    rng = np.random.default_rng(3)
    references = [" ".join(rng.choice(words, size=7)) for _ in range(120)]
    good = [r if i % 10 else "x y z" for i, r in enumerate(references)]
    bad = [r if i % 2 else "x y z" for i, r in enumerate(references)]
    first = paired_bootstrap(good, bad, references, resamples=200)
    assert first == paired_bootstrap(good, bad, references, resamples=200)
    assert os.environ["SACREBLEU_SEED"] == "none"
    for key in ("bleu", "chrf"):
        cell, pivot = first[key]["cell"], first[key]["pivot"]
        assert cell["ci"][0] <= cell["mean"] <= cell["ci"][1] and cell["ci"][0] < cell["ci"][1]
        assert pivot["ci"][1] < cell["ci"][0]  # the pivot is far worse
        assert first[key]["p"] < 0.05
        assert cell["mean"] == pytest.approx(score(good, references)[key], abs=3)
    same = paired_bootstrap(good, list(good), references, resamples=200)
    assert same["bleu"]["p"] == same["chrf"]["p"] == 1.0


def test_a_cells_own_interval_is_sacrebleus_bootstrap_and_agrees_with_the_paired_test(monkeypatch):
    monkeypatch.setenv("SACREBLEU_SEED", "none")
    words = [f"w{i}" for i in range(16)]
    rng = np.random.default_rng(5)
    references = [" ".join(rng.choice(words, size=7)) for _ in range(120)]
    good = [r if i % 5 else "x y z" for i, r in enumerate(references)]
    bad = [r if i % 2 else "x y z" for i, r in enumerate(references)]
    own = bootstrap_interval(good, references)
    assert own == bootstrap_interval(good, references)  # seeded, whatever SACREBLEU_SEED says
    assert os.environ["SACREBLEU_SEED"] == "none"
    paired = paired_bootstrap(good, bad, references)
    for key in ("bleu", "chrf"):
        low, high = own[key]
        assert low < score(good, references)[key] < high
        assert own[key] == paired[key]["cell"]["ci"]  # the same resamples as the paired test's
    fewer = bootstrap_interval(good[:30], references[:30])
    assert fewer["bleu"][1] - fewer["bleu"][0] > own["bleu"][1] - own["bleu"][0]
    assert bootstrap_interval(["q"] * 5, references[:5]) == {"bleu": [0.0, 0.0], "chrf": [0.0, 0.0]}


def test_a_cell_is_measured_against_its_own_pivot():
    references = ["a b c d e"] * 8 + ["x y"] * 2
    cell = [*references[:9], "q"]  # 9 of 10 exact
    pivot = references[:7] + ["q"] * 3  # 7 of 10 exact
    own = pivot_scores(["fr", "en", "de"], 9, cell, pivot, references)
    assert own["path"] == ["fr", "en", "de"] and own["exact"] == 0.7
    assert own["exact_ci"] == wilson_interval(7, 10)
    assert own["exact_ratio"] == pytest.approx(9 / 7, abs=1e-4)
    # The cell alone right on items 7 and 8, the pivot alone on none: gap 0.7 - 0.9.
    assert own["exact_gap"]["gap"] == -0.2 and own["exact_gap"]["discordant"] == [0, 2]
    assert own["paired_bootstrap"]["chrf"]["cell"]["mean"] > own["paired_bootstrap"]["chrf"]["pivot"]["mean"]
    assert pivot_scores(["fr", "en", "de"], 0, pivot, ["q"] * 10, references)["exact_ratio"] is None


def test_cells_carry_their_uncertainty_and_their_own_pivot_comparison(matrix, tmp_path):
    for c in matrix.cells:
        assert c.exact_ci[0] <= c.exact <= c.exact_ci[1]
        assert wilson_interval(round(c.exact * c.n), c.n) == c.exact_ci
    pivoted = [c for c in matrix.cells if c.pivot]
    assert pivoted
    for c in pivoted:
        own = c.pivot
        assert own["exact_ci"] == wilson_interval(round(own["exact"] * c.n), c.n)
        if own["exact"]:
            assert own["exact_ratio"] == pytest.approx(c.exact / own["exact"], abs=1e-3)
        assert set(own["paired_bootstrap"]) == {"bleu", "chrf"}
        assert 0 < own["paired_bootstrap"]["chrf"]["p"] <= 1
        assert own["exact_gap"]["gap"] == pytest.approx(own["exact"] - c.exact, abs=1e-3)
        assert own["exact_gap"]["ci"][0] <= own["exact_gap"]["gap"] <= own["exact_gap"]["ci"][1]
    assert "bs:1000|seed:12345" in matrix.signatures["bleu_paired_bootstrap"]
    write_report(matrix, tmp_path)
    saved = json.loads((tmp_path / "matrix.json").read_text())
    assert {"exact_ci", "pivot"} <= set(saved["cells"][0])
    text = (tmp_path / "matrix.md").read_text()
    first = pivoted[0]
    assert f"| {first.src}→{first.tgt} | {first.kind} | {first.n} | {first.exact:.3f} [" in text
    assert "p=" in text and "exact ÷ pivot" in text
    gap = first.pivot["exact_gap"]
    assert f"| {gap['gap']:.3f} [{gap['ci'][0]:.3f}, {gap['ci'][1]:.3f}] ? |" in text  # 10 items: undecided
    for kind in ("zero-shot", "plugged"):
        cells = sum(c.kind == kind for c in pivoted)
        assert f"{kind}: 0 within, 0 beyond, {cells} undecided" in text
    assert saved["search"] == {"beam_size": 1, "length_penalty": 0.0}
    assert "items per cell, greedy decoding." in text.splitlines()[0]
    for c in matrix.cells:  # supervised cells too: BLEU and chrF with sacrebleu's bootstrap interval
        if c.pivot:
            assert c.bleu_ci == c.pivot["paired_bootstrap"]["bleu"]["cell"]["ci"]
            assert c.chrf_ci == c.pivot["paired_bootstrap"]["chrf"]["cell"]["ci"]
        assert c.bleu_ci[0] <= c.bleu_ci[1] and c.chrf_ci[0] <= c.chrf_ci[1]
        assert f"| {c.chrf:.1f} [{c.chrf_ci[0]:.1f}, {c.chrf_ci[1]:.1f}] | {c.bleu:.1f} [" in text
    assert "bs:1000|seed:12345" in matrix.signatures["chrf_bootstrap"]


def test_the_report_keeps_the_lines_it_scored(matrix, tmp_path):
    """translations/ holds every cell's and pivot's translations and the references, in item order, so two
    runs can be compared with sacrebleu's paired test: scoring the files gives the matrix's numbers."""
    write_report(matrix, tmp_path)
    folder = tmp_path / "translations"
    for c in matrix.cells:
        hypotheses = (folder / f"{c.src}-{c.tgt}.txt").read_text(encoding="utf-8").splitlines()
        references = (folder / f"reference.{c.tgt}.txt").read_text(encoding="utf-8").splitlines()
        assert len(hypotheses) == len(references) == c.n
        assert score(hypotheses, references, c.tgt) == {"exact": c.exact, "chrf": c.chrf, "bleu": c.bleu}
        intervals = bootstrap_interval(hypotheses, references, lang=c.tgt)
        assert intervals == {"bleu": c.bleu_ci, "chrf": c.chrf_ci}
        if c.pivot:
            chain = (folder / ("-".join(c.pivot["path"]) + ".txt")).read_text(encoding="utf-8").splitlines()
            assert score(chain, references, c.tgt)["chrf"] == c.pivot["chrf"]


def test_the_matrix_says_which_modules_a_budget_cut_short() -> None:
    from types import SimpleNamespace

    from plugmt.evaluation.matrix import Matrix, training_record
    from plugmt.evaluation.report import markdown

    def module(name: str, **training) -> SimpleNamespace:
        return SimpleNamespace(id=name, meta={"stage": "joint", "training": training})

    rows = training_record(
        [
            module("enc", steps=900, stopped="converged", converged=True),
            module("es", steps=400, stopped="time", converged=False),
            module("old"),  # stored before stages recorded how they ended
        ]
    )
    assert [(r["id"], r["stopped"], r["converged"]) for r in rows] == [
        ("enc", "converged", True),
        ("es", "time", False),
        ("old", None, None),
    ]
    matrix = Matrix("enc", "test", [], training=rows)
    assert matrix.unconverged() == ["es"]
    assert matrix.to_json()["training"] == rows
    assert "before validation converged: es " in markdown(matrix)
    assert "converged" not in markdown(Matrix("enc", "test", [], training=rows[:1]))


def test_max_items_null_scores_the_whole_split() -> None:
    from plugmt.corpora.corpus import sample_rows

    assert sample_rows(5266, None).tolist() == list(range(5266))
    sample = sample_rows(5266, 5000)
    assert len(sample) == 5000 and len(set(sample.tolist())) == 5000 and sample.max() > 5000


def test_bleu_splits_words_of_languages_written_without_spaces():
    """13a reads a Japanese or Chinese sentence as one word: BLEU there is all or nothing."""
    from plugmt.evaluation.metrics import signatures

    hypothesis, reference = ["今日は晴れです"], ["今日は晴れだ"]
    assert score(hypothesis, reference)["bleu"] == 0.0  # 13a: one wrong "word"
    assert score(hypothesis, reference, "ja")["bleu"] > 40  # MeCab words, or characters
    assert score(["今天天气很好"], ["今天天气不错"], "zh")["bleu"] > 20
    assert score(["May 5, 2026"], ["May 5, 2026"], "de")["bleu"] == 100.0
    found = signatures()
    assert "tok:13a" in found["bleu"] and "tok:zh" in found["bleu:zh"]
    assert "tok:char" in found["bleu:char"] or "tok:ja-mecab" in found["bleu:ja-mecab"]


def test_signatures_name_only_the_metrics_used(monkeypatch):
    """A matrix whose cells all go into one language has that tokenizer's signature, no other."""
    from plugmt.evaluation import metrics

    monkeypatch.setattr(metrics, "_BLEUS", {})
    monkeypatch.setattr(metrics, "_TOKENIZERS", {})
    score(["das ist gut"], ["das ist gut"], "de")
    found = metrics.signatures()
    assert "tok:13a" in found["bleu"] and not any(k.startswith("bleu:") for k in found)
    monkeypatch.setattr(metrics, "_BLEUS", {})
    monkeypatch.setattr(metrics, "_TOKENIZERS", {})
    score(["今天很好"], ["今天很好"], "zh")
    assert "bleu" not in metrics.signatures() and "tok:zh" in metrics.signatures()["bleu:zh"]


def test_cells_say_where_they_fail_by_group(matrix, trained):
    """Each cell's exact match split by the corpus's group of every sampled item: the counts add up to
    the cell's items and its exact match, and the report pools them by kind."""
    from plugmt.evaluation.metrics import hits_by_group
    from plugmt.evaluation.report import _groups_markdown, markdown

    assert hits_by_group(["a", "b", "c", "d"], ["a", "x", "c", "d"], ["g2", "g1", "g2", "g1"]) == {
        "g1": [1, 2],
        "g2": [2, 2],
    }
    from plugmt.corpora.corpus import sample_rows

    labels = load_corpus(trained["cfg"].data).groups("test")
    sampled = [labels[i] for i in sample_rows(len(labels), 10)]
    expected = {group: sampled.count(group) for group in set(sampled)}
    assert len(expected) > 1, "the phrasebook's sample spans several families"
    for c in matrix.cells:
        assert {group: n for group, (_, n) in c.by_group.items()} == expected
        assert sum(n for _, n in c.by_group.values()) == c.n
        assert sum(h for h, _ in c.by_group.values()) == round(c.exact * c.n)
    text = markdown(matrix)
    assert "Exact match by group" in text
    group = sorted(matrix.cells[0].by_group)[0]
    kind = matrix.cells[0].kind
    pooled = [c.by_group[group] for c in matrix.cells if c.kind == kind and group in c.by_group]
    share = sum(h for h, _ in pooled) / sum(n for _, n in pooled)
    row = next(line for line in text.splitlines() if line.startswith(f"| {group} |"))
    from plugmt.evaluation.matrix import KINDS

    kinds = [k for k in KINDS if any(c.kind == k for c in matrix.cells)]
    header = f"| group | n | {' | '.join(kinds)} |"
    assert header in text and header in _groups_markdown(matrix.cells[::-1]), "kinds in one order"
    assert row.split(" | ")[2 + kinds.index(kind)].strip(" |") == f"{share:.3f}"


def test_group_distances_say_how_far_each_language_is_from_the_reference_group_by_group():
    from plugmt.evaluation.diagnostics import group_distances

    rng = np.random.default_rng(0)
    en = rng.normal(size=(6, 4)).astype(np.float32)
    fr = en.copy()
    fr[3:] += 5.0  # the rows of group b are elsewhere in French
    rows = group_distances({"en": en, "fr": fr, "de": en.copy()}, ["a", "a", "a", "b", "b", "c"], "en")
    found = {(r["src"], r["group"]): r["distance"] for r in rows}
    assert set(found) == {("fr", "a"), ("fr", "b"), ("de", "a"), ("de", "b")}, "one-row groups left out"
    assert found["fr", "a"] == found["de", "a"] == found["de", "b"] == 0.0
    assert found["fr", "b"] > 1.0
    assert {r["to"] for r in rows} == {"en"} and {r["n"] for r in rows if r["group"] == "b"} == {2}


def test_the_matrix_measures_each_source_against_english_by_group(matrix, trained):
    """Every source but English, every group of the sample with two items or more: the alignment term
    between the whole thoughts of those items, as the encoder gives them; the report shows them."""
    from plugmt.corpora.corpus import sample_rows
    from plugmt.evaluation.report import markdown
    from plugmt.layers.losses import alignment_loss

    corpus = load_corpus(trained["cfg"].data)
    rows = sample_rows(len(corpus.groups("test")), 10)
    groups = [corpus.groups("test")[i] for i in rows]
    texts = {lang: [corpus.texts("test", lang)[i] for i in rows] for lang in ("en", "fr", "de")}
    found = {(d["src"], d["group"]): d["distance"] for d in matrix.distances}
    several = sorted({g for g in groups if groups.count(g) > 1})
    assert set(found) == {(lang, g) for lang in ("fr", "de") for g in several}
    translator = Translator(trained["store"], trained["encoder"])
    group = several[0]
    at = [i for i, g in enumerate(groups) if g == group]
    whole = {lang: translator.encode([texts[lang][i] for i in at]) for lang in ("en", "fr")}
    by_hand = float(alignment_loss(*(np.concatenate(whole[lang].states, axis=-1) for lang in ("en", "fr"))))
    assert found["fr", group] == pytest.approx(by_hand, abs=1e-3)
    assert f"| {group} | " in markdown(matrix).split("Distance of each source's thoughts from en's")[1]
