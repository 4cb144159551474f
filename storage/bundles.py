"""Bundles: one stored module as a single ``.tar.gz``, to hand to another store.

A bundle is ``manifest.json`` (bundle version, kind, id, fingerprints, the plugmt / TensorFlow /
Keras / SentencePiece versions that wrote it, and the SHA-256 of every file) beside the module's own
files. Importing treats the archive as hostile until proven otherwise: every entry is checked before
a byte of it is read, the whole module is checked in memory (checksums, manifest, registered
architectures only, weights readable without pickle, a real SentencePiece model), and only then is it
published into the store in one atomic step. A refused bundle leaves the store exactly as it was.
"""

from __future__ import annotations

import importlib.metadata
import io
import json
import os
import re
import tarfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, NoReturn

from plugmt.atomic import atomic_path
from plugmt.errors import PlugmtError
from plugmt.storage.checks import MODULE_FILES, SAFE_NAME, check_module, check_plain
from plugmt.storage.module import StoredModule, module_key, parse_json, sha256
from plugmt.storage.store import Store

BUNDLE_VERSION = 1
MANIFEST = "manifest.json"
BUNDLED_FILES = (*MODULE_FILES, "meta.json")
# What names a module, beyond its id, per kind: the manifest and meta.json must agree on all of it.
IDENTITY = {"encoder": ("fingerprint",), "decoder": ("lang", "encoder_id", "encoder_fingerprint")}
# Far above any plugmt model (the default ones are a few MB), far below what would exhaust memory.
MAX_BUNDLE_BYTES = 1 << 30
MAX_ENTRIES = 16
PICKLE_SUFFIXES = (".pkl", ".pickle", ".p", ".joblib", ".dill")
ArchitectureCheck = Callable[[str, Mapping[str, Any], Mapping[str, Any], Mapping[str, Any], str], None]


def versions() -> dict[str, str]:
    """The versions of what wrote a bundle: enough to explain a later incompatibility."""
    found = {}
    for package in ("plugmt", "tensorflow", "keras", "sentencepiece", "numpy"):
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = "unknown"
    return found


def manifest_for(module: StoredModule, contents: Mapping[str, bytes]) -> dict[str, Any]:
    meta = module.meta
    manifest: dict[str, Any] = {"bundle_version": BUNDLE_VERSION, "kind": module.role, "id": module.id}
    if module.role == "encoder":
        manifest["fingerprint"] = meta["fingerprint"]
    else:
        manifest.update(
            lang=meta["lang"], encoder_id=meta["encoder_id"], encoder_fingerprint=meta["encoder_fingerprint"]
        )
    manifest["versions"] = versions()
    manifest["files"] = {name: sha256(contents[name]) for name in BUNDLED_FILES}
    return manifest


def export_bundle(store: Store, module: StoredModule, archive: str | os.PathLike[str]) -> Path:
    """Write `module` (verified first: a damaged module is not passed on) to the `.tar.gz` `archive`."""
    contents = {**store.verify(module), "meta.json": module.file("meta.json")}
    manifest = json.dumps(manifest_for(module, contents), indent=2, sort_keys=True).encode()
    target = Path(archive).expanduser()
    with atomic_path(target) as partial, tarfile.open(partial, "w:gz") as tar:
        for name, data in [(MANIFEST, manifest), *((n, contents[n]) for n in BUNDLED_FILES)]:
            entry = tarfile.TarInfo(name)
            entry.size, entry.mode, entry.mtime = len(data), 0o644, int(time.time())
            tar.addfile(entry, io.BytesIO(data))
    return target


# --------------------------------------------------------------------------- import


def import_bundle(
    store: Store,
    archive: str | os.PathLike[str],
    check_architecture: ArchitectureCheck,
    max_bytes: int = MAX_BUNDLE_BYTES,
) -> StoredModule:
    """Check the bundle `archive` completely, then publish its module into `store` atomically.

    `check_architecture(kind, config, meta, manifest, where)` raises PlugmtError unless the module
    names an architecture this plugmt can build (`registry.check_stored_architecture`): the store
    itself knows no architectures."""
    path = Path(archive).expanduser()
    where = f"bundle {path.name}"
    if not path.is_file():
        raise PlugmtError(f"{where} is not a file; give the path of a `plugmt-registry export` archive")
    if path.stat().st_size > max_bytes:
        raise PlugmtError(f"{where} is {path.stat().st_size} bytes, over the {max_bytes}-byte cap; refused")
    files = _read_entries(path, where, max_bytes)
    manifest = _check_manifest(files, where)
    meta = _check_module(files, manifest, where, check_architecture)
    key = module_key(meta)
    module_files = {name: files[name] for name in BUNDLED_FILES}
    if store.files.exists(key) or not store.publish(key, module_files):
        raise PlugmtError(
            f"{where}: module {meta['id']} is already in the store {store.root}; "
            "remove it first to replace it"
        )
    return store.find(str(meta["id"]))


def _read_entries(path: Path, where: str, max_bytes: int) -> dict[str, bytes]:
    """Every entry's bytes, each entry vetted from its header before it is read."""
    files: dict[str, bytes] = {}
    total = 0
    try:
        with tarfile.open(path, "r:gz") as tar:
            for entry in _entries(tar, where):
                total += entry.size
                if total > max_bytes:
                    raise PlugmtError(f"{where} unpacks to over the {max_bytes}-byte cap; refused")
                if entry.name in files:
                    raise PlugmtError(f"{where} holds {entry.name!r} twice; refused")
                handle = tar.extractfile(entry)
                if handle is None:
                    raise PlugmtError(f"{where}: entry {entry.name!r} is not a plain file; refused")
                files[entry.name] = handle.read()
    except (tarfile.TarError, EOFError, OSError, ValueError) as error:
        raise PlugmtError(
            f"{where} is not a readable .tar.gz ({error}); make bundles with `plugmt-registry export`"
        ) from None
    return files


def _entries(tar: tarfile.TarFile, where: str) -> Iterator[tarfile.TarInfo]:
    for count, entry in enumerate(tar, start=1):
        if count > MAX_ENTRIES:
            raise PlugmtError(f"{where} holds more than {MAX_ENTRIES} entries; a bundle holds 5 files")
        _check_entry(entry, where)
        yield entry


def _check_entry(entry: tarfile.TarInfo, where: str) -> None:
    name = entry.name
    if name.startswith("/") or re.match(r"[A-Za-z]:[\\/]", name):
        raise PlugmtError(f"{where}: entry {name!r} is an absolute path; refused")
    if ".." in re.split(r"[\\/]", name):
        raise PlugmtError(f"{where}: entry {name!r} climbs out of its folder (path traversal); refused")
    if entry.issym() or entry.islnk():
        raise PlugmtError(f"{where}: entry {name!r} is a link to {entry.linkname!r}; bundles hold no links")
    if entry.ischr() or entry.isblk() or entry.isfifo():
        raise PlugmtError(f"{where}: entry {name!r} is a device or fifo; bundles hold plain files only")
    if not entry.isfile():
        raise PlugmtError(f"{where}: entry {name!r} is not a plain file; bundles hold plain files only")
    if name.lower().endswith(PICKLE_SUFFIXES):
        raise PlugmtError(f"{where}: entry {name!r} looks like a pickle; plugmt never loads pickles")


def _check_manifest(files: Mapping[str, bytes], where: str) -> dict[str, Any]:
    if MANIFEST not in files:
        raise PlugmtError(f"{where} has no {MANIFEST}; it was not made by `plugmt-registry export`")
    manifest = _json(files[MANIFEST], f"{where}: {MANIFEST}")
    version = manifest.get("bundle_version")
    if version is None:
        raise PlugmtError(f"{where}: {MANIFEST} has no bundle_version; it was not made by plugmt")
    if version != BUNDLE_VERSION:
        raise PlugmtError(
            f"{where}: bundle version {version!r} is not one this plugmt reads ({BUNDLE_VERSION}); "
            "upgrade plugmt or re-export with this one"
        )
    listed = manifest.get("files")
    if not isinstance(listed, dict) or sorted(listed) != sorted(BUNDLED_FILES):
        raise PlugmtError(f"{where}: {MANIFEST} must list exactly {', '.join(BUNDLED_FILES)}")
    unlisted = sorted(set(files) - set(listed) - {MANIFEST})
    if unlisted:
        raise PlugmtError(f"{where} holds {unlisted[0]!r}, which its manifest does not list; refused")
    for name, expected in listed.items():
        if name not in files:
            raise PlugmtError(f"{where} lacks {name!r}, which its manifest lists; refused")
        if sha256(files[name]) != expected:
            raise PlugmtError(f"{where}: {name} does not match its manifest checksum (damaged or altered)")
    if manifest.get("kind") not in ("encoder", "decoder"):
        raise PlugmtError(f"{where}: {MANIFEST} kind {manifest.get('kind')!r} is neither encoder nor decoder")
    return manifest


def _check_module(
    files: Mapping[str, bytes], manifest: Mapping[str, Any], where: str, check_architecture: ArchitectureCheck
) -> dict[str, Any]:
    """The module's meta.json, once every file is known to be what a plugmt store would hold: the
    manifest agrees with meta.json, the architecture is a registered one, and the whole module
    passes the store's own validator (`storage.checks`), as a module of the folder it would go to."""
    meta = _json(files["meta.json"], f"{where}: meta.json")
    config = _json(files["config.json"], f"{where}: config.json")
    kind = manifest["kind"]
    for field in ("id", *IDENTITY[kind]):
        if not isinstance(manifest.get(field), str) or meta.get(field) != manifest[field]:
            raise PlugmtError(f"{where}: meta.json and the manifest disagree on {field!r}; refused")
    if meta.get("role") != kind:
        raise PlugmtError(f"{where}: meta.json role {meta.get('role')!r} is not the manifest's {kind!r}")
    names = [meta["id"]] + ([meta["lang"], meta["encoder_id"]] if kind == "decoder" else [])
    for name in names:
        if not isinstance(name, str) or not SAFE_NAME.fullmatch(name):
            raise PlugmtError(f"{where}: {name!r} is not a safe module name (letters, digits, . _ -)")

    def fail(file: str, what: str) -> NoReturn:
        raise PlugmtError(f"{where}: {file} {what}; refused")

    # Plain data first (no OmegaConf expression reaches the architecture's typed config).
    check_plain(config, fail)
    check_architecture(kind, config, meta, manifest, where)
    check_module(files.__getitem__, module_key(meta), fail)
    return meta


def _json(data: bytes, where: str) -> dict[str, Any]:
    def failure(why: str) -> str:
        if why == "not a JSON object":
            return f"{where} is not a JSON object; refused"
        return f"{where} is not valid JSON ({why}); refused"

    return parse_json(data, where, failure)
