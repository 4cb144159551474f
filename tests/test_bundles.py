"""Bundles: a round trip keeps every weight, and every kind of hostile archive is refused untouched."""

import hashlib
import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest
from conftest import rehash

from plugmt.errors import PlugmtError
from plugmt.registry import check_stored_architecture, load_decoder, load_encoder
from plugmt.storage import Store
from plugmt.storage.bundles import export_bundle, import_bundle
from plugmt.storage.weights import fingerprint, weight_arrays


def read_bundle(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar}


def write_bundle(archive: Path, files: dict[str, bytes], extra: tuple[tarfile.TarInfo, ...] = ()) -> Path:
    with tarfile.open(archive, "w:gz") as tar:
        for name, data in files.items():
            entry = tarfile.TarInfo(name)
            entry.size = len(data)
            tar.addfile(entry, io.BytesIO(data))
        for entry in extra:
            tar.addfile(entry, io.BytesIO(b"x" * entry.size) if entry.size else None)
    return archive


def entry(name: str, kind: bytes = tarfile.REGTYPE, size: int = 0, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.linkname = kind, size, link
    return info


def tree(root: Path) -> dict[str, str]:
    if not root.exists():
        return {}
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in sorted(root.rglob("*"))
    }


@pytest.fixture
def decoder_bundle(trained, tmp_path) -> dict[str, bytes]:
    return read_bundle(export_bundle(trained["store"], trained["plugged"], tmp_path / "es.tar.gz"))


@pytest.fixture
def target(trained, tmp_path) -> Store:
    """A store already holding the encoder, so 'unchanged' means something."""
    store = Store(tmp_path / "target")
    import_bundle(
        store,
        export_bundle(trained["store"], trained["encoder"], tmp_path / "encoder.tar.gz"),
        check_stored_architecture,
    )
    return store


def test_round_trip_into_a_fresh_store_keeps_every_weight(trained, tmp_path):
    source = trained["store"]
    fresh = Store(tmp_path / "fresh")
    encoder = import_bundle(
        fresh, export_bundle(source, trained["encoder"], tmp_path / "e.tar.gz"), check_stored_architecture
    )
    decoder = import_bundle(
        fresh, export_bundle(source, trained["plugged"], tmp_path / "d.tar.gz"), check_stored_architecture
    )
    assert encoder.meta == trained["encoder"].meta and decoder.meta == trained["plugged"].meta
    loaded, vocab = load_encoder(fresh, encoder)
    _, original_vocab = load_encoder(source, trained["encoder"])
    assert fingerprint(weight_arrays(loaded)) == trained["encoder"].meta["fingerprint"]
    assert vocab.model_bytes == original_vocab.model_bytes
    thought = loaded.thought_spec()
    new_decoder, _ = load_decoder(fresh, decoder, thought)
    old_decoder, _ = load_decoder(source, trained["plugged"], thought)
    for new, old in zip(weight_arrays(new_decoder), weight_arrays(old_decoder), strict=True):
        np.testing.assert_array_equal(new, old)
    assert fresh.resolve_decoder("es", encoder).id == trained["plugged"].id


def test_bundle_manifest_names_kind_fingerprints_versions_and_checksums(decoder_bundle, trained):
    manifest = json.loads(decoder_bundle["manifest.json"])
    assert manifest["bundle_version"] == 1 and manifest["kind"] == "decoder"
    assert manifest["encoder_fingerprint"] == trained["encoder"].meta["fingerprint"]
    assert {"plugmt", "tensorflow", "keras", "sentencepiece"} <= set(manifest["versions"])
    assert set(manifest["files"]) == {"config.json", "weights.npz", "vocab.model", "README.md", "meta.json"}


def tampered_config(files: dict[str, bytes], change) -> dict[str, bytes]:
    config = json.loads(files["config.json"])
    change(config)
    files["config.json"] = json.dumps(config).encode()
    return rehash(files)


def object_weights(files: dict[str, bytes]) -> dict[str, bytes]:
    buffer = io.BytesIO()
    np.savez(buffer, w0000=np.array([{"evil": 1}], dtype=object))
    files["weights.npz"] = buffer.getvalue()
    return rehash(files)


def without_version(files: dict[str, bytes], version) -> dict[str, bytes]:
    manifest = json.loads(files["manifest.json"])
    if version is None:
        del manifest["bundle_version"]
    else:
        manifest["bundle_version"] = version
    files["manifest.json"] = json.dumps(manifest).encode()
    return files


REFUSALS = {
    "traversal": (lambda f: (f, (entry("../x", size=1),)), r"entry '\.\./x' climbs out of its folder"),
    "absolute": (lambda f: (f, (entry("/etc/x", size=1),)), r"entry '/etc/x' is an absolute path"),
    "symlink": (lambda f: (f, (entry("link", tarfile.SYMTYPE, link="/etc/passwd"),)), r"is a link"),
    "hardlink": (lambda f: (f, (entry("hard", tarfile.LNKTYPE, link="config.json"),)), r"is a link"),
    "device": (lambda f: (f, (entry("dev", tarfile.CHRTYPE),)), r"is a device or fifo"),
    "fifo": (lambda f: (f, (entry("pipe", tarfile.FIFOTYPE),)), r"is a device or fifo"),
    "folder": (lambda f: (f, (entry("sub", tarfile.DIRTYPE),)), r"is not a plain file"),
    "pickle": (lambda f: ({**f, "model.pkl": b"\x80\x04N."}, ()), r"'model\.pkl' looks like a pickle"),
    "unlisted": (
        lambda f: ({**f, "notes.txt": b"hi"}, ()),
        r"'notes\.txt', which its manifest does not",
    ),
    "checksum": (
        lambda f: ({**f, "weights.npz": f["weights.npz"][:-1] + b"!"}, ()),
        r"weights\.npz does not match its manifest checksum",
    ),
    "no manifest": (lambda f: ({n: d for n, d in f.items() if n != "manifest.json"}, ()), r"has no manifest"),
    "no version": (lambda f: (without_version(f, None), ()), r"manifest\.json has no bundle_version"),
    "unknown version": (
        lambda f: (without_version(f, 99), ()),
        r"bundle version 99 is not one this",
    ),
    "unregistered name": (
        lambda f: (tampered_config(f, lambda c: c.update(architecture="evil")), ()),
        r"decoder architecture 'evil', not a registered plugmt one",
    ),
    "target": (
        lambda f: (tampered_config(f, lambda c: c["settings"].update(_target_="os.system")), ()),
        r"_target_ 'os\.system' is not a registered plugmt architecture",
    ),
    "object array": (lambda f: (object_weights(f), ()), r"weights\.npz without pickle"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_hostile_bundle_is_refused_in_one_line_and_the_store_is_unchanged(
    case, decoder_bundle, target, tmp_path
):
    make, message = REFUSALS[case]
    files, extra = make(dict(decoder_bundle))
    archive = write_bundle(tmp_path / "bad.tar.gz", files, extra)
    before = tree(target.root)
    with pytest.raises(PlugmtError, match=message) as caught:
        import_bundle(target, archive, check_stored_architecture)
    assert "\n" not in str(caught.value)
    assert tree(target.root) == before
    assert [m.id for m in target.decoders()] == []


def test_oversize_bundle_is_refused(decoder_bundle, target, tmp_path):
    archive = write_bundle(tmp_path / "big.tar.gz", decoder_bundle)
    before = tree(target.root)
    with pytest.raises(PlugmtError, match=r"over the 1000-byte cap"):
        import_bundle(target, archive, check_stored_architecture, max_bytes=1000)
    assert tree(target.root) == before


def test_unpacked_size_counts_against_the_cap(decoder_bundle, target, tmp_path):
    # Zeros compress to almost nothing: the cap must hold for what the archive unpacks to.
    archive = write_bundle(tmp_path / "bomb.tar.gz", {**decoder_bundle, "zeros": bytes(200_000)})
    assert archive.stat().st_size < 100_000
    with pytest.raises(PlugmtError, match=r"unpacks to over the 100000-byte cap"):
        import_bundle(target, archive, check_stored_architecture, max_bytes=100_000)


def test_not_an_archive_is_refused(target, tmp_path):
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not a tarball")
    with pytest.raises(PlugmtError, match=r"bundle junk\.tar\.gz is not a readable \.tar\.gz"):
        import_bundle(target, junk, check_stored_architecture)


def test_importing_a_module_twice_is_refused(target, trained, tmp_path):
    again = export_bundle(trained["store"], trained["encoder"], tmp_path / "again.tar.gz")
    with pytest.raises(PlugmtError, match=r"is already in the store .*remove it first"):
        import_bundle(target, again, check_stored_architecture)


def test_a_damaged_module_is_not_exported(trained, tmp_path):
    import shutil

    shutil.copytree(trained["store"].root, tmp_path / "store")
    store = Store(tmp_path / "store")
    module = store.resolve_decoder("fr", store.encoder())
    (module.path / "vocab.model").write_bytes(b"changed")
    with pytest.raises(PlugmtError, match=r"vocab\.model is truncated or modified"):
        export_bundle(store, module, tmp_path / "out.tar.gz")
    assert not (tmp_path / "out.tar.gz").exists()
