"""plugmt-export: the SavedModel translates exactly as plugmt does, and loads without plugmt."""

import json
import os
import subprocess
import sys

import pytest
import tensorflow as tf
from test_architectures import encoder_and_decoder

from plugmt.corpora.vocab import Vocab
from plugmt.errors import PlugmtError
from plugmt.inference.export import INFO_FILE, export_pair
from plugmt.inference.translator import Translator
from plugmt.storage import Store

# Dates of the tiny corpus, a character it never saw, an empty line, a long line.
SENTENCES = ["Monday, January 3, 2000", "3 janvier 2000", "", "Dienstag, 4. Januar 2000 ☃", "1/3/00 " * 6]

# A process that cannot import plugmt (the name maps to None), as on a serving machine; it loads
# every exported model first, then translates with each.
SERVE = """
import json, sys
sys.modules["plugmt"] = None
import tensorflow as tf, tensorflow_text
texts = tf.constant(json.loads(sys.stdin.read()))
models = [tf.saved_model.load(path) for path in sys.argv[1:]]
out = [m.signatures["serving_default"](text=texts)["translation"].numpy() for m in models]
print(json.dumps([[t.decode("utf-8") for t in o] for o in out]))
"""


def translate_saved(path, texts) -> list[str]:
    loaded = tf.saved_model.load(str(path)).signatures["serving_default"]
    out = loaded(text=tf.constant(texts, dtype=tf.string))["translation"]
    return [t.decode("utf-8") for t in out.numpy()]


def test_exported_pairs_serve_without_plugmt_and_agree_with_translate(trained, tmp_path):
    """Two exports (two target vocabularies) served side by side in one process, as a server would."""
    store = trained["store"]
    path = export_pair(store, "es", tmp_path / "es")
    other = export_pair(store, "fr", tmp_path / "fr")
    env = {**os.environ, "PYTHONPATH": "", "TF_CPP_MIN_LOG_LEVEL": "2"}
    served = subprocess.run(
        [sys.executable, "-c", SERVE, str(path), str(other)],
        input=json.dumps(SENTENCES),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    assert served.returncode == 0, served.stderr[-3000:]
    got, got_fr = json.loads(served.stdout.strip().splitlines()[-1])
    translator = Translator(store, trained["encoder"])
    assert got == translator.translate(SENTENCES, "es")
    assert got_fr == translator.translate(SENTENCES, "fr") != got
    assert got[2] == "" and all(got[i] for i in (0, 1, 3))
    info = json.loads((path / INFO_FILE).read_text())
    assert info["decoder"]["id"] == trained["plugged"].id
    assert info["encoder"]["fingerprint"] == trained["encoder"].meta["fingerprint"]
    assert info["search"] == {"beam_size": 1, "length_penalty": 0.0}


@pytest.mark.parametrize(
    ("encoder_name", "decoder_name", "beam_size"),
    [("transformer", "transformer", 1), ("bridge-transformer", "lstm", 3)],
)
def test_attention_pairs_and_beam_search_export_exactly(encoder_name, decoder_name, beam_size, tmp_path):
    vocab = Vocab.train(["abcdefghij klm", "nopqrstu 0123"], "char", 100)
    encoder, decoder = encoder_and_decoder(encoder_name, decoder_name, vocab_size=vocab.size)
    store = Store(tmp_path / "store")
    encoder_module = store.save_encoder(encoder, vocab, {"languages": ["xx"]})
    store.save_decoder(decoder, vocab, encoder_module, {"lang": "yy", "max_len": 12})
    path = export_pair(store, "yy", tmp_path / "out", beam_size=beam_size, length_penalty=0.6)
    texts = ["abc", "", "nop qrs 012", "zzz ab", "jihgf edcba"]
    want = Translator(store, encoder_module, beam_size=beam_size, length_penalty=0.6).translate(texts, "yy")
    assert translate_saved(path, texts) == want
    assert translate_saved(path, ["", ""]) == ["", ""]
    assert translate_saved(path, []) == []


def test_a_refused_export_leaves_nothing_behind(trained, tmp_path):
    with pytest.raises(PlugmtError, match="no decoder 'xx'"):
        export_pair(trained["store"], "xx", tmp_path / "out")
    with pytest.raises(PlugmtError, match="beam_size=0"):
        export_pair(trained["store"], "es", tmp_path / "out", beam_size=0)
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep").write_text("mine")
    with pytest.raises(PlugmtError, match="already a folder; choose another out= or pass overwrite=true"):
        export_pair(trained["store"], "es", tmp_path / "out")
    assert (tmp_path / "out" / "keep").read_text() == "mine"
    replaced = export_pair(trained["store"], "es", tmp_path / "out", overwrite=True)
    assert (replaced / "saved_model.pb").is_file() and not (replaced / "keep").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging folder left
