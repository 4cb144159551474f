"""The Python API: translate a str to a str with beam settings per call, encode to thoughts of every
kind, train (joint and plug-in) and evaluate from Python with the commands' configs and checks."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from conftest import TINY

import plugmt
from plugmt.cli.checks import DECODING
from plugmt.errors import PlugmtError


@pytest.fixture(scope="module")
def translator(trained):
    return plugmt.Translator.open(trained["store"])


def test_a_str_gives_a_str_and_a_list_a_list(translator):
    one = translator.translate("3 janvier 2000", decoder="es")
    many = translator.translate(["3 janvier 2000", "", "5 mai 2001"], decoder="es")
    assert isinstance(one, str) and isinstance(many, list) and len(many) == 3
    assert many[0] == one and many[1] == ""
    assert translator.translate([], decoder="es") == []


def test_beam_settings_hold_for_one_call(trained, translator, monkeypatch):
    """The call's settings reach beam search; the next call without them is the translator's greedy."""
    from plugmt.inference import decode

    searched = []
    real = decode.beam_search

    def spy(decoder, thought, max_len, beam_size, length_penalty, **kw):
        searched.append((beam_size, length_penalty))
        return real(decoder, thought, max_len, beam_size, length_penalty, **kw)

    monkeypatch.setattr(decode, "beam_search", spy)
    texts = ["3 janvier 2000", "5 mai 2001", "1 June 2000"]
    greedy = translator.translate(texts, decoder="fr")
    beamed = translator.translate(texts, decoder="fr", beam_size=3, length_penalty=0.6)
    assert searched == [(3, 0.6)]  # traced once, with this call's settings
    assert translator.translate(texts, decoder="fr") == greedy and searched == [(3, 0.6)]
    opened = plugmt.Translator.open(trained["store"], beam_size=3, length_penalty=0.6)
    assert opened.translate(texts, decoder="fr") == beamed  # as a translator opened with them
    assert opened.translate(texts, decoder="fr", beam_size=1) == greedy


CLI_RULES = {"beam_size": DECODING["beam_size"], "length_penalty": DECODING["length_penalty"]}


@pytest.mark.parametrize(
    "key, value", [("beam_size", 0), ("beam_size", -2), ("beam_size", 2.5), ("beam_size", "abc"),
                   ("length_penalty", float("nan")), ("length_penalty", float("inf")),
                   ("length_penalty", "abc")]
)  # fmt: skip
def test_bad_search_settings_are_one_line_in_the_commands_words(translator, trained, key, value):
    with pytest.raises(PlugmtError) as cli:
        CLI_RULES[key](key, value)
    with pytest.raises(PlugmtError) as per_call:
        translator.translate("3 janvier 2000", decoder="es", **{key: value})
    with pytest.raises(PlugmtError) as opened:
        plugmt.Translator.open(trained["store"], **{key: value})
    assert str(per_call.value) == str(opened.value) == str(cli.value)
    assert "\n" not in str(cli.value)


def test_bad_batch_size_and_texts_are_refused(translator):
    with pytest.raises(PlugmtError, match=r"^batch_size=0: too small"):
        translator.translate(["x"], decoder="es", batch_size=0)
    with pytest.raises(PlugmtError, match="a list of sentences"):
        translator.encode([])


@pytest.fixture(scope="module")
def python_trained(tmp_path_factory, cache_dir):
    """A store trained and evaluated from Python: joint, then an es decoder plugged in, then the matrix."""
    root = tmp_path_factory.mktemp("api-store")
    tiny = [o for o in TINY if not o.startswith("plugin.")] + [f"data.cache_dir={cache_dir}"]
    joint = plugmt.train(store=root, overrides=tiny)
    plugged = plugmt.train(store=root, overrides=tiny, mode="plugin", lang="es", pairs=["de-es"])
    out = root.parent / "report"
    matrix = plugmt.evaluate(store=root, overrides=tiny, settings={"eval": {"max_items": 6}}, out=out)
    return {"root": root, "joint": joint, "plugged": plugged, "matrix": matrix, "out": out, "tiny": tiny}


def test_train_and_evaluate_from_python(python_trained):
    joint, plugged, matrix = python_trained["joint"], python_trained["plugged"], python_trained["matrix"]
    assert joint.store.encoders() == [joint.encoder] and joint.encoder.path.is_dir()
    assert sorted(d.meta["lang"] for d in joint.decoders) == ["de", "en", "fr"]
    assert plugged.encoder.id == joint.encoder.id
    [decoder] = plugged.decoders
    assert decoder.meta["lang"] == "es" and decoder.meta["stage"] == "plugin"
    assert decoder.meta["pairs"] == [["de", "es"]]
    assert matrix.encoder == joint.encoder.id
    cells = {(c.src, c.tgt): c for c in matrix.cells}
    assert cells["en", "es"].kind == "plugged" and cells["de", "es"].kind == "supervised"
    assert all(c.n == 6 for c in matrix.cells)  # settings={"eval": {"max_items": 6}} held
    assert (python_trained["out"] / "matrix.json").is_file()
    translated = plugmt.Translator.open(python_trained["root"]).translate("3 janvier 2000", decoder="es")
    assert isinstance(translated, str)


def test_python_settings_are_checked_as_the_commands_check_them(python_trained, tmp_path):
    tiny, root = python_trained["tiny"], python_trained["root"]
    with pytest.raises(
        PlugmtError, match=r"^train\.batch_size=0: too small \(allowed: a whole number >= 1\)$"
    ):
        plugmt.train(store=tmp_path, overrides=[*tiny, "train.batch_size=0"])
    with pytest.raises(PlugmtError, match=r"^train\.batch_size=abc: not a whole number"):
        plugmt.train(store=tmp_path, overrides=tiny, settings={"train": {"batch_size": "abc"}})
    with pytest.raises(PlugmtError, match=r"^eval\.beam_size=0: it must be 1 \(greedy\) or more$"):
        plugmt.evaluate(store=root, overrides=tiny, settings={"eval": {"beam_size": 0}})
    with pytest.raises(PlugmtError, match="needs the new decoder's language"):
        plugmt.train(store=root, overrides=tiny, mode="plugin")
    with pytest.raises(PlugmtError, match=r"^Could not override 'nope\.x'; Key 'nope' is not in struct"):
        plugmt.train(store=tmp_path, overrides=[*tiny, "nope.x=1"])
    assert not list(tmp_path.iterdir())  # refused before anything was written


@pytest.mark.parametrize(
    "kind, architecture",
    [
        ("vector", []),
        ("slots", ["encoder=bridge", "encoder.slots=4", "encoder.d_model=16"]),
        ("memory", ["encoder=transformer", "encoder.d_model=16", "encoder.layers=1", "encoder.ffn=32"]),
    ],
)
def test_encode_gives_each_kinds_arrays(kind, architecture, trained, tmp_path, cache_dir):
    if kind == "vector":
        store = trained["store"]
    else:
        tiny = [o for o in TINY if not o.startswith("encoder.")]
        tiny += [f"data.cache_dir={cache_dir}", "train.steps=2", "data.pairs=[en-fr]"]
        store = plugmt.train(store=tmp_path, overrides=[*tiny, *architecture]).store
    translator = plugmt.Translator.open(store)
    width = translator.encoder.thought_spec().width
    texts = ["3 janvier 2000", "1 June 2000", "5 mai 2001"]
    lengths = [len(ids) for ids in translator.source_vocab.encode(texts)]
    for batch, thought in ((1, translator.encode(texts[0])), (3, translator.encode(texts))):
        assert thought.kind == kind
        if kind == "vector":
            assert thought.memory is None and thought.mask is None and len(thought.states) == 2
            assert all(isinstance(s, np.ndarray) and s.shape == (batch, width) for s in thought.states)
        elif kind == "slots":
            assert thought.states == () and thought.mask is None
            assert isinstance(thought.memory, np.ndarray) and thought.memory.shape == (batch, 4, width)
        else:
            positions = max(lengths[:batch])
            assert thought.states == () and thought.memory.shape == (batch, positions, width)
            assert thought.mask.shape == (batch, positions)
            assert list(thought.mask.sum(axis=1)) == lengths[:batch]  # true at each sentence's tokens
    # Encoded in batches of 2 and 1, then joined: the same thoughts as in one batch.
    for whole, split in zip(_real(translator.encode(texts)), _real(translator.encode(texts, 2)), strict=True):
        np.testing.assert_allclose(whole, split, rtol=1e-4, atol=1e-5)


def _real(thought) -> list[np.ndarray]:
    """Every array of a thought, with the memory at padding positions zeroed."""
    memory = thought.memory
    if memory is not None and thought.mask is not None:
        memory = memory * thought.mask[..., None]
    return [*thought.states, *(a for a in (memory, thought.mask) if a is not None)]


def test_the_api_imports_without_tensorflow():
    code = (
        "import sys, plugmt, plugmt.api; plugmt.train, plugmt.evaluate; "
        "assert 'tensorflow' not in sys.modules, 'TensorFlow was imported'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
