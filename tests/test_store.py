import json
import shutil

import numpy as np
import pytest

from plugmt.errors import PlugmtError
from plugmt.inference.translator import Translator
from plugmt.registry import load_encoder
from plugmt.storage import Store
from plugmt.storage.module import sealed
from plugmt.storage.weights import fingerprint, weight_arrays

SENTENCES = ["Monday, January 3, 2000", "3 janvier 2000", ""]


def copy_store(trained, tmp_path) -> Store:
    shutil.copytree(trained["store"].root, tmp_path / "store")
    return Store(tmp_path / "store")


def test_round_trip_gives_identical_weights_and_translations(trained):
    store = trained["store"]
    translator = Translator(store, trained["encoder"])
    assert fingerprint(weight_arrays(translator.encoder)) == trained["encoder"].meta["fingerprint"]
    first = translator.translate(SENTENCES, decoder="de")
    again = Translator(store, store.encoder()).translate(SENTENCES, decoder="de")
    assert first == again
    assert first[2] == ""  # an empty line translates to an empty line


def test_decoder_by_language_is_the_newest_that_fits(trained):
    store, encoder = trained["store"], trained["encoder"]
    assert store.resolve_decoder("es", encoder).id == trained["plugged"].id
    assert store.resolve_decoder(trained["plugged"].id, encoder).id == trained["plugged"].id


def test_decoders_record_what_they_were_trained_on(trained):
    meta = trained["plugged"].meta
    assert meta["lang"] == "es"
    assert meta["pairs"] == [["de", "es"]]
    assert meta["stage"] == "plugin"
    assert meta["encoder_fingerprint"] == trained["encoder"].meta["fingerprint"]
    assert set(meta["metrics"]["valid_exact"]) == {"de-es"}


def test_decoder_from_another_encoder_is_refused_naming_both(trained, tmp_path):
    store = copy_store(trained, tmp_path)
    module = store.resolve_decoder("es", store.encoder())
    meta = json.loads((module.path / "meta.json").read_text())
    meta["encoder_fingerprint"] = "f" * 64
    (module.path / "meta.json").write_text(json.dumps(sealed(meta)))
    encoder = store.encoder()
    with pytest.raises(PlugmtError) as caught:
        store.resolve_decoder("es", encoder)
    message = str(caught.value)
    assert "ffffffffffff" in message and encoder.meta["fingerprint"][:12] in message
    assert "allow_foreign=true" in message
    assert store.resolve_decoder("es", encoder, allow_foreign=True).id == module.id


def test_unknown_decoder_lists_what_the_store_has(trained):
    with pytest.raises(PlugmtError, match=r"no decoder 'xx' in the store .*languages: de, en, es, fr"):
        trained["store"].resolve_decoder("xx", trained["encoder"])


def test_missing_weights_file_is_named(trained, tmp_path):
    store = copy_store(trained, tmp_path)
    module = store.resolve_decoder("fr", store.encoder())
    (module.path / "weights.npz").unlink()
    with pytest.raises(PlugmtError, match=r"store file .*weights\.npz is missing"):
        Translator(store, store.encoder()).translate(["x"], decoder="fr")


def test_truncated_weights_file_is_named(trained, tmp_path):
    store = copy_store(trained, tmp_path)
    encoder = store.encoder()
    weights = encoder.path / "weights.npz"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(PlugmtError, match=r"store file .*weights\.npz is truncated or modified"):
        load_encoder(store, encoder)


def test_empty_store_says_how_to_fill_it(tmp_path):
    with pytest.raises(PlugmtError, match="has no encoder; train one first with `plugmt-train`"):
        Store(tmp_path / "nothing").encoder()


def test_saving_the_same_encoder_twice_is_idempotent_and_leaves_no_temporary(trained, tmp_path):
    store = copy_store(trained, tmp_path)
    translator = Translator(store, store.encoder())
    again = store.save_encoder(translator.encoder, translator.source_vocab, {"languages": []})
    assert again.id == trained["encoder"].id
    leftovers = [p for p in store.root.rglob(".tmp-*")]
    assert leftovers == []


def test_fingerprint_changes_with_any_weight():
    arrays = [np.zeros((2, 2), np.float32), np.ones(3, np.float32)]
    changed = [arrays[0].copy(), arrays[1].copy()]
    changed[1][2] = np.nextafter(np.float32(1), np.float32(2))
    assert fingerprint(arrays) == fingerprint([a.copy() for a in arrays])
    assert fingerprint(arrays) != fingerprint(changed)


def test_weights_load_without_pickle(trained):
    path = trained["encoder"].path / "weights.npz"
    with np.load(path, allow_pickle=False) as data:
        assert all(data[name].dtype != object for name in data.files)


def test_the_translator_decodes_with_the_beam_it_was_opened_with(trained):
    from plugmt.inference.translator import Translator

    greedy = Translator.open(trained["store"]).plug("fr").pipeline
    beam = Translator.open(trained["store"], beam_size=3).plug("fr").pipeline
    assert (greedy.beam_size, beam.beam_size) == (1, 3)
    assert len(beam(["May 5, 2000", ""])) == 2
