"""Stores behind fsspec URLs: memory:// (as a stand-in for s3:// and friends) and file:///."""

import uuid

import pytest

from plugmt.cli.runtime import store_path
from plugmt.errors import PlugmtError
from plugmt.inference.translator import Translator
from plugmt.registry import check_stored_architecture, load_decoder, load_encoder
from plugmt.storage import Store
from plugmt.storage.bundles import export_bundle, import_bundle
from plugmt.storage.files import LocalFiles, RemoteFiles
from plugmt.storage.weights import fingerprint, weight_arrays

SENTENCES = ["Monday, January 3, 2000", "3 janvier 2000"]


@pytest.fixture
def memory_store() -> Store:
    return Store(f"memory://plugmt-{uuid.uuid4().hex[:8]}/store")


def copy_modules(trained, store: Store):
    """Save the trained encoder and its es decoder into `store` through the ordinary save path."""
    source = trained["store"]
    encoder_layer, source_vocab = load_encoder(source, trained["encoder"])
    encoder = store.save_encoder(encoder_layer, source_vocab, {"languages": ["en", "fr", "de"]})
    decoder_layer, vocab = load_decoder(source, trained["plugged"], encoder_layer.thought_spec())
    record = {k: v for k, v in trained["plugged"].meta.items() if k in ("lang", "pairs", "stage", "max_len")}
    decoder = store.save_decoder(decoder_layer, vocab, encoder, record)
    return encoder, decoder


def test_memory_store_saves_lists_verifies_and_loads(trained, memory_store):
    assert isinstance(memory_store.files, RemoteFiles)
    encoder, decoder = copy_modules(trained, memory_store)
    assert encoder.id == trained["encoder"].id
    assert [m.id for m in memory_store.encoders()] == [encoder.id]
    assert [m.id for m in memory_store.decoders()] == [decoder.id]
    for module in (encoder, decoder):
        memory_store.verify(module)
    loaded, _ = load_encoder(memory_store, memory_store.encoder())
    assert fingerprint(weight_arrays(loaded)) == trained["encoder"].meta["fingerprint"]
    here = Translator(memory_store, memory_store.encoder()).translate(SENTENCES, decoder="es")
    there = Translator(trained["store"], trained["encoder"]).translate(SENTENCES, decoder="es")
    assert here == there


def test_memory_store_names_a_damaged_file(trained, memory_store):
    encoder, _ = copy_modules(trained, memory_store)
    memory_store.files.fs.pipe_file(f"{encoder.path}/weights.npz", b"short")
    with pytest.raises(PlugmtError, match=r"store file memory://.*weights\.npz is truncated"):
        memory_store.verify(encoder)


def test_memory_store_takes_bundles_and_removes_modules(trained, memory_store, tmp_path):
    source = trained["store"]
    decoder = import_bundle(
        memory_store,
        export_bundle(source, trained["plugged"], tmp_path / "d.tar.gz"),
        check_stored_architecture,
    )
    assert not memory_store.has_encoder(decoder.meta["encoder_id"])  # allowed: shown by `show`
    encoder = import_bundle(
        memory_store,
        export_bundle(source, trained["encoder"], tmp_path / "e.tar.gz"),
        check_stored_architecture,
    )
    with pytest.raises(PlugmtError, match=r"has 1 stored decoder\(s\) trained against it"):
        memory_store.remove(encoder)
    memory_store.remove(decoder)
    memory_store.remove(encoder)
    assert memory_store.encoders() == [] and memory_store.decoders() == []


def test_a_folder_without_meta_is_still_arriving_and_not_listed(trained, memory_store):
    encoder, _ = copy_modules(trained, memory_store)
    memory_store.files.fs.pipe_file(f"{encoder.path.parent}/lstm-half/config.json", b"{}")
    assert [m.id for m in memory_store.encoders()] == [encoder.id]


def test_file_url_is_the_local_store(trained):
    root = trained["store"].root
    store = Store(f"file://{root}")
    assert isinstance(store.files, LocalFiles) and store.root == root
    assert [m.id for m in store.decoders()] == [m.id for m in trained["store"].decoders()]


def test_store_setting_keeps_urls_and_resolves_folders(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert store_path("memory://team/store") == "memory://team/store"
    assert store_path("shared") == tmp_path / "shared"


def test_a_store_url_that_cannot_be_written_is_refused_before_training(monkeypatch, tmp_path):
    """Any URL but memory:// is probed by writing a hidden file: a read-only one fails first."""
    store = Store(f"memory://plugmt-{uuid.uuid4().hex[:8]}/store")
    store.files.root = "s3://bucket/store"  # as a lasting URL would be named

    def denied(path, value):
        raise PermissionError("Access Denied")

    monkeypatch.setattr(store.files.fs, "pipe_file", denied)
    with pytest.raises(PlugmtError, match=r"store=s3://bucket/store cannot be written \(Access Denied\)"):
        store.check_writable()
    monkeypatch.undo()
    store.check_writable()  # a writable one passes, and leaves no probe behind
    assert store.files.fs.find(store.files.base) == []
