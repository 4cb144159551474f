"""Hostile or damaged modules in a store: each is named in one line and skipped, never loaded, and
the rest of the store keeps working (listing, translating, verify, remove)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from plugmt.cli import store_cli as registry_cli
from plugmt.errors import PlugmtError
from plugmt.inference.translator import Translator
from plugmt.registry import check_stored_architecture, load_decoder, load_encoder
from plugmt.storage import Store
from plugmt.storage.module import sealed


def copy_store(trained, tmp_path) -> Store:
    shutil.copytree(trained["store"].root, tmp_path / "store")
    return Store(tmp_path / "store")


def rewrite(folder: Path, meta=None, config=None, weights=None, vocab=None, reseal=True) -> None:
    """Change a module's files, then make meta.json's checksums and seal agree (as a forger would),
    so that only the check under test can refuse it; `reseal=False` leaves the old seal."""
    stored = json.loads((folder / "meta.json").read_text())
    if config is not None:
        settings = json.loads((folder / "config.json").read_text())
        config(settings)
        (folder / "config.json").write_text(json.dumps(settings))
    if weights is not None:
        with np.load(folder / "weights.npz") as archive:
            arrays = [archive[name] for name in sorted(archive.files)]
        arrays = weights(arrays, stored)
        buffer = io.BytesIO()
        np.savez(buffer, **{f"w{i:04d}": a for i, a in enumerate(arrays)})
        (folder / "weights.npz").write_bytes(buffer.getvalue())
    if vocab is not None:
        (folder / "vocab.model").write_bytes(vocab)
    if isinstance(stored.get("files"), dict):
        for name in list(stored["files"]):
            stored["files"][name] = hashlib.sha256((folder / name).read_bytes()).hexdigest()
    if meta is not None:
        meta(stored)
    (folder / "meta.json").write_text(json.dumps(sealed(stored) if reseal else stored))


def refingerprinted(change):
    """Weights changed by `change`, with the recorded fingerprint recomputed to match them."""
    from plugmt.storage.weights import fingerprint

    def apply(arrays, meta):
        arrays = change(arrays)
        meta["fingerprint"] = fingerprint(arrays)
        meta["id"] = "unused"  # set below from the new fingerprint
        return arrays

    return apply


def nan_weights(arrays):
    arrays[0] = arrays[0].copy()
    arrays[0].flat[0] = np.nan
    return arrays


def int_weights(arrays):
    arrays[0] = arrays[0].astype(np.int64)
    return arrays


def other_weights(arrays, meta):
    return [a + 1.0 for a in arrays]  # the recorded fingerprint is now someone else's


# Cheap cases are caught by listing (and so by every command); the rest by load and verify.
LISTED = {
    "meta edited": (
        dict(meta=lambda m: m.update(created="2020-01-01T00:00:00Z"), reseal=False),
        r"meta\.json was changed after the module was stored \(its `seal` does not match\)",
    ),
    "seal missing": (dict(meta=lambda m: m.pop("seal"), reseal=False), r"meta\.json has no `seal`"),
    "files missing": (dict(meta=lambda m: m.pop("files")), r"has no `files` map of checksums"),
    "files a list": (
        dict(meta=lambda m: m.update(files=list(m["files"]))),
        r"has no `files` map of checksums",
    ),
    "id missing": (dict(meta=lambda m: m.pop("id")), r"`id` None is not a name"),
    "id a number": (dict(meta=lambda m: m.update(id=123)), r"`id` 123 is not a name"),
    "lang moved": (dict(meta=lambda m: m.update(lang="fr")), r"language 'fr', but it sits under decoders/"),
    "pairs for another language": (
        dict(meta=lambda m: m.update(pairs=[["de", "fr"]])),
        r"`pairs` must be a list of \[source, 'es'\] pairs",
    ),
    "created in the future": (
        dict(meta=lambda m: m.update(created="9999-12-31T00:00:00Z")),
        r"created='9999-12-31T00:00:00Z' is in the future",
    ),
    "created garbage": (dict(meta=lambda m: m.update(created="soon")), r"created='soon' is not a UTC time"),
    "max_len huge": (
        dict(meta=lambda m: m.update(max_len=10**9)),
        r"max_len=1000000000 is not a whole number from 1 to 4096",
    ),
    "max_len a string": (dict(meta=lambda m: m.update(max_len="9")), r"max_len='9' is not a whole number"),
    "interpolation": (
        dict(config=lambda c: c["settings"].update(embed_dim="${oc.env:PLUGMT_TEST_SECRET}")),
        r"holds an OmegaConf expression at settings\.embed_dim \(stored configs are plain data\)",
    ),
    "negative size": (
        dict(config=lambda c: c["settings"].update(embed_dim=-3)),
        r"setting embed_dim=-3 is not a whole number from 1 to 65536",
    ),
    "vocab_size zero": (dict(config=lambda c: c.update(vocab_size=0)), r"vocab_size=0 is not a whole number"),
    "unknown thought": (
        dict(config=lambda c: c["thought"].update(kind="telepathy")),
        r"`thought` must be a kind \(vector, slots, memory\)",
    ),
    "settings missing": (dict(config=lambda c: c.pop("settings")), r"must name an `architecture` and hold"),
}
LOADED = {
    "nan weights": (dict(weights=refingerprinted(nan_weights)), r"weight w0000 holds NaN or infinite"),
    "int64 weights": (dict(weights=refingerprinted(int_weights)), r"weight w0000 is int64, not floating"),
    "other weights": (dict(weights=other_weights), r"does not have the fingerprint meta\.json records"),
    "garbage vocabulary": (dict(vocab=b"not a model"), r"vocab\.model is not a SentencePiece model"),
}


def _plant(store: Store, case: dict) -> Path:
    """The es decoder's folder, damaged as `case` says."""
    module = store.resolve_decoder("es", store.encoder())
    rewrite(module.path, **case)
    if "weights" in case:  # the id carries the fingerprint: keep that consistent, as a forger would
        meta = json.loads((module.path / "meta.json").read_text())
        if meta["id"] == "unused":
            meta["id"] = module.id
            parts = module.id.split("-")
            parts[2] = meta["fingerprint"][:8]
            meta["id"] = "-".join(parts)
            (module.path / "meta.json").write_text(json.dumps(sealed(meta)))
            module.path.rename(module.path.with_name(meta["id"]))
            return module.path.with_name(meta["id"])
    return module.path


@pytest.mark.parametrize("case", sorted(LISTED))
def test_a_damaged_module_is_named_and_skipped_and_the_rest_still_works(
    case, trained, tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("PLUGMT_TEST_SECRET", "hunter2")
    store = copy_store(trained, tmp_path)
    change, message = LISTED[case]
    folder = _plant(store, change)
    fresh = Store(store.root)
    decoders = fresh.decoders()
    assert folder.name not in [d.id for d in decoders] and len(decoders) == 3
    warning = capsys.readouterr().err.strip().splitlines()
    assert len(warning) == 1 and warning[0].startswith("plugmt: warning: skipped a damaged module")
    assert folder.name in warning[0] and "hunter2" not in warning[0]
    assert re.search(message, warning[0]), warning[0]
    # The es decoder is gone for `decoder=es`; every other language still translates.
    with pytest.raises(PlugmtError, match=r"no decoder 'es' in the store"):
        fresh.resolve_decoder("es", fresh.encoder())
    assert Translator(fresh, fresh.encoder()).translate(["3 janvier 2000"], decoder="de")[0]
    _verify_then_remove(store.root, folder, message, capsys)


@pytest.mark.parametrize("case", sorted(LOADED))
def test_a_module_with_bad_contents_is_never_loaded(case, trained, tmp_path, capsys):
    store = copy_store(trained, tmp_path)
    change, message = LOADED[case]
    folder = _plant(store, change)
    fresh = Store(store.root)
    with pytest.raises(PlugmtError, match=message) as caught:
        Translator(fresh, fresh.encoder()).translate(["3 janvier 2000"], decoder="es")
    assert "\n" not in str(caught.value) and f"plugmt-registry remove {folder.name}" in str(caught.value)
    _verify_then_remove(store.root, folder, message, capsys)


def _verify_then_remove(root, folder: Path, message: str, capsys) -> None:
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        registry_cli.main(["--store", str(root), "verify"])
    out = capsys.readouterr().out.splitlines()
    assert stop.value.code == 1
    damaged = [line for line in out if line.startswith("DAMAGED")]
    assert len(damaged) == 1 and damaged[0].startswith(f"DAMAGED {folder.name}: ")
    assert re.search(message, damaged[0]), damaged[0]
    assert out[-1] == "4 of 5 modules intact"
    registry_cli.main(["--store", str(root), "remove", folder.name])
    assert not folder.exists()
    registry_cli.main(["--store", str(root), "verify"])
    assert capsys.readouterr().out.splitlines()[-1] == "4 of 4 modules intact"


def test_a_stray_empty_folder_blocks_nothing_and_can_be_removed(trained, tmp_path, capsys):
    store = copy_store(trained, tmp_path)
    stray = Path(store.root) / "decoders" / trained["encoder"].id / "es" / "junk"
    stray.mkdir()
    assert len(store.decoders()) == 4
    assert "junk/meta.json is missing (an empty or partial folder)" in capsys.readouterr().err
    assert Translator(store, store.encoder()).translate(["3 janvier 2000"], decoder="es")[0]
    assert [m.id for m in store.damaged_modules()] == ["junk"]
    registry_cli.main(["--store", str(store.root), "remove", "junk"])
    assert not stray.exists() and store.damaged_modules() == []


def test_a_damaged_encoder_is_skipped_and_not_the_newest(trained, tmp_path, capsys):
    store = copy_store(trained, tmp_path)
    encoder = store.encoder()
    twin = Path(store.root) / "encoders" / "lstm-000000000000"
    shutil.copytree(encoder.path, twin)
    rewrite(twin, meta=lambda m: m.update(id=twin.name, created="2999-01-01T00:00:00Z"))
    assert Store(store.root).encoder().id == encoder.id
    assert "lstm-000000000000" in capsys.readouterr().err


def test_an_imported_module_passes_the_same_validator(trained, tmp_path, monkeypatch):
    """A bundle built from a damaged module is refused at import with the store's own words."""
    import tarfile

    from plugmt.storage.bundles import export_bundle, import_bundle

    monkeypatch.setenv("PLUGMT_TEST_SECRET", "hunter2")
    with tarfile.open(export_bundle(trained["store"], trained["plugged"], tmp_path / "es.tar.gz")) as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar}
    target = Store(tmp_path / "target")
    for change, message in (
        (lambda m, c: m.update(max_len=10**9), r"max_len=1000000000 is not a whole number"),
        (lambda m, c: m.update(created="9999-12-31T00:00:00Z"), r"is in the future"),
        (lambda m, c: c["settings"].update(units="${oc.env:PLUGMT_TEST_SECRET}"), r"OmegaConf expression"),
        (lambda m, c: c.update(vocab_size=10**9), r"vocab_size=1000000000 is not a whole number"),
    ):
        meta, config = json.loads(files["meta.json"]), json.loads(files["config.json"])
        change(meta, config)
        bad = {**files, "config.json": json.dumps(config).encode()}
        meta["files"]["config.json"] = hashlib.sha256(bad["config.json"]).hexdigest()
        bad["meta.json"] = json.dumps(sealed(meta)).encode()
        manifest = json.loads(bad["manifest.json"])
        manifest["files"] = {n: hashlib.sha256(bad[n]).hexdigest() for n in manifest["files"]}
        bad["manifest.json"] = json.dumps(manifest).encode()
        archive = tmp_path / "bad.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            for name, data in bad.items():
                entry = tarfile.TarInfo(name)
                entry.size = len(data)
                tar.addfile(entry, io.BytesIO(data))
        with pytest.raises(PlugmtError, match=message) as caught:
            import_bundle(target, archive, check_stored_architecture)
        assert "hunter2" not in str(caught.value) and "\n" not in str(caught.value)
        assert not Path(target.root).exists() or not any(Path(target.root).rglob("meta.json"))


def test_a_record_cannot_rename_a_stored_module(trained, tmp_path):
    store = copy_store(trained, tmp_path)
    encoder, vocab = load_encoder(store, store.encoder())
    shutil.rmtree(store.encoder().path)
    saved = store.save_encoder(encoder, vocab, {"languages": ["en"], "id": "evil", "role": "decoder"})
    assert saved.id == trained["encoder"].id and saved.meta["role"] == "encoder"


# --------------------------------------------------------------------------- before and during work


def test_training_refuses_a_store_that_is_a_file_or_lives_only_in_memory(trained, tmp_path):
    from plugmt.training.stages import train_joint

    afile = tmp_path / "store.txt"
    afile.write_text("x")
    with pytest.raises(PlugmtError, match=r"store=.*store\.txt is a file, not a folder"):
        train_joint(trained["cfg"], Store(afile))
    with pytest.raises(PlugmtError, match=r"store=memory://x keeps modules only in this process's memory"):
        train_joint(trained["cfg"], Store("memory://x"))


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_training_refuses_a_read_only_store(trained, tmp_path):
    from plugmt.training.stages import train_joint

    (tmp_path / "ro").mkdir(mode=0o555)
    with pytest.raises(PlugmtError, match=r"cannot be written"):
        train_joint(trained["cfg"], Store(tmp_path / "ro"))


def test_an_encoder_in_use_by_a_run_is_not_removed_without_force(trained, tmp_path):
    store = copy_store(trained, tmp_path)
    shutil.rmtree(Path(store.root) / "decoders")
    encoder = store.encoder()
    with store.using_encoder(encoder):
        with pytest.raises(PlugmtError, match=r"in use by a training run in progress.*--force"):
            store.remove(encoder)
        assert store.encoder().id == encoder.id
    store.remove(encoder)
    assert store.encoders() == []


def test_a_decoder_is_not_stored_once_its_encoder_is_gone(trained, tmp_path):
    store = copy_store(trained, tmp_path)
    encoder = store.encoder()
    spec = load_encoder(store, encoder)[0].thought_spec()
    module = store.resolve_decoder("es", encoder)
    decoder, vocab = load_decoder(store, module, spec)
    store.remove(encoder, force=True)
    before = sorted(p.name for p in Path(store.root).rglob("*"))
    with pytest.raises(PlugmtError, match=r"encoder lstm-\S+ was removed from the store .* not stored"):
        store.save_decoder(decoder, vocab, encoder, dict(module.meta))
    assert sorted(p.name for p in Path(store.root).rglob("*")) == before


def test_stale_temporary_folders_are_cleaned_on_the_next_write(trained, tmp_path):
    store = copy_store(trained, tmp_path)
    encoder = store.encoder()
    module = store.resolve_decoder("es", encoder)
    decoder, vocab = load_decoder(store, module, load_encoder(store, encoder)[0].thought_spec())
    folder = module.path.parent
    old, new = folder / ".tmp-killed-1234", folder / ".tmp-writing-5678"
    for path in (old, new):
        path.mkdir()
        (path / "weights.npz").write_bytes(b"half")
    hours_ago = time.time() - 2 * 3600
    os.utime(old, (hours_ago, hours_ago))
    store.save_decoder(decoder, vocab, encoder, dict(module.meta))
    assert not old.exists() and new.exists()
