"""A stored module as data: its folder, its metadata, and how the store names and dates it."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from plugmt.errors import PlugmtError

__all__ = [
    "Storable",
    "StoredModule",
    "Vocabulary",
    "layer_config",
    "module_files",
    "module_key",
    "now",
    "parse_json",
    "seal",
    "sealed",
    "sha256",
]

SEAL = "seal"  # meta.json's key holding the SHA-256 of the rest of meta.json


class Storable(Protocol):
    """What the store needs of an encoder or decoder layer (it imports no model code)."""

    config: Any  # the architecture's config dataclass
    vocab_size: int

    @property
    def weights(self) -> list[Any]: ...


class Vocabulary(Protocol):
    """What the store needs of a vocabulary: its SentencePiece model's bytes."""

    @property
    def model_bytes(self) -> bytes: ...


@dataclass(frozen=True)
class StoredModule:
    """A module folder in the store and its metadata (meta.json)."""

    path: Path | PurePosixPath
    meta: dict[str, Any]
    key: str = ""  # the folder relative to the store root, e.g. "encoders/lstm-3f9a…"
    read: Callable[[str], bytes] | None = field(default=None, compare=False, repr=False)
    location: str = ""  # how to name the folder to a user: a path, or a URL for a remote store

    @property
    def id(self) -> str:
        """The module's id: its folder's name (a damaged module's meta.json may not say it)."""
        return str(self.meta.get("id") or PurePosixPath(self.key).name)

    @property
    def role(self) -> str:
        return "encoder" if self.key.startswith("encoders/") else "decoder"

    @property
    def config(self) -> dict[str, Any]:
        return self.json("config.json")

    def file(self, name: str) -> bytes:
        """One of the module's files, as bytes (named in plain words if it is missing)."""
        try:
            return self.read(name) if self.read else (self.path / name).read_bytes()
        except FileNotFoundError:
            missing = f"store file {self.where(name)} is missing"
            raise PlugmtError(f"{missing}; remove the damaged module or re-train it") from None

    def json(self, name: str) -> dict[str, Any]:
        return parse_json(self.file(name), self.where(name))

    def where(self, name: str) -> str:
        return f"{self.location}/{name}" if self.location else str(self.path / name)


def parse_json(data: bytes, where: Any, failure: Callable[[str], str] | None = None) -> dict[str, Any]:
    """A JSON object from bytes, or a PlugmtError whose message `failure(why)` words (default: a
    damaged store file)."""
    failure = failure or (lambda why: f"store file {where} is damaged ({why}); remove the module")
    try:
        value = json.loads(data.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise PlugmtError(failure(str(error))) from None
    if not isinstance(value, dict):
        raise PlugmtError(failure("not a JSON object"))
    return value


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def seal(meta: Mapping[str, Any]) -> str:
    """SHA-256 of meta.json's content without its seal (canonical JSON). meta.json records every
    other file's checksum, so the seal covers the whole module: an edited meta.json is detected."""
    rest = {key: value for key, value in meta.items() if key != SEAL}
    return sha256(json.dumps(rest, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode())


def sealed(meta: Mapping[str, Any]) -> dict[str, Any]:
    """`meta` with its seal, as the store writes it."""
    return {**meta, SEAL: seal(meta)}


def module_files(
    config: Mapping[str, Any], weights: bytes, vocab: bytes, meta: Mapping[str, Any]
) -> dict[str, bytes]:
    """A module's files as the store writes them: its config, weights, vocabulary and card
    (README.md); meta.json records their checksums and is sealed last."""
    from plugmt.storage.card import CARD, card

    meta = {"created": now(), **meta}
    files = {
        "config.json": json.dumps(config, indent=2, sort_keys=True).encode(),
        "weights.npz": weights,
        "vocab.model": vocab,
        CARD: card(meta, config).encode(),
    }
    meta = sealed({**meta, "files": {n: sha256(b) for n, b in files.items()}})
    files["meta.json"] = json.dumps(meta, indent=2, sort_keys=True).encode()
    return files


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def module_key(meta: Mapping[str, Any]) -> str:
    """Where a module with this metadata lives inside a store."""
    if meta.get("role") == "encoder":
        return f"encoders/{meta['id']}"
    return f"decoders/{meta['encoder_id']}/{meta['lang']}/{meta['id']}"


def layer_config(layer: Storable, thought: Any) -> dict[str, Any]:
    """config.json of an encoder or decoder layer: its architecture, settings (its config
    dataclass), vocabulary size and the thought it emits or reads (a ThoughtSpec)."""
    return {
        "architecture": layer.config.name,
        "settings": dataclasses.asdict(layer.config),
        "vocab_size": layer.vocab_size,
        "thought": thought.to_json(),
    }


def space_of(meta: Mapping[str, Any]) -> str:
    """The thought space an encoder's meta.json says it writes: its teacher's fingerprint for a
    student encoder (train.mode=student), else its own. Decoders fit every encoder of their space."""
    return str(meta.get("space") or meta["fingerprint"])
