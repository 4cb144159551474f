"""Architectures by name, and the store of trained modules.

Two registries live here because they answer the same question from two ends: *what can be built*
(`@register_encoder` / `@register_decoder`, one decorator per architecture file, each also putting its
config dataclass into Hydra's ConfigStore so typos fail at override time) and *what has been trained*
(`Store`: encoders and language decoders saved as separate folders, each encoder identified by a
fingerprint of its weights, each decoder recording the fingerprint it was trained against).

Stored modules hold JSON, a NumPy `.npz` of weights (read with ``allow_pickle=False``) and a
SentencePiece model: loading one never executes code, and only registered architectures are built.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import shutil
import uuid
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from plugmt.errors import PlugmtError

# --------------------------------------------------------------------------- architectures


@dataclass(frozen=True)
class Architecture:
    role: str  # "encoder" or "decoder"
    name: str
    cls: type
    config_cls: type


_ARCHITECTURES: dict[str, dict[str, Architecture]] = {"encoder": {}, "decoder": {}}


def _register(role: str, name: str, config_cls: type) -> Callable[[type], type]:
    def decorate(cls: type) -> type:
        from hydra.core.config_store import ConfigStore

        _ARCHITECTURES[role][name] = Architecture(role, name, cls, config_cls)
        # conf/<role>/<name>.yaml lists `<name>_schema` first in its defaults: Hydra then checks
        # every override of that group against this dataclass.
        ConfigStore.instance().store(group=role, name=f"{name}_schema", node=config_cls)
        return cls

    return decorate


def register_encoder(name: str, config_cls: type) -> Callable[[type], type]:
    """Class decorator: make a `SharedEncoder` buildable as `encoder=<name>`."""
    return _register("encoder", name, config_cls)


def register_decoder(name: str, config_cls: type) -> Callable[[type], type]:
    """Class decorator: make a `LanguageDecoder` buildable as `decoder=<name>`."""
    return _register("decoder", name, config_cls)


def load_architectures() -> None:
    """Import every architecture file so its decorator has run."""
    import plugmt.decoders
    import plugmt.encoders  # noqa: F401


def architecture(role: str, name: str) -> Architecture:
    load_architectures()
    known = _ARCHITECTURES[role]
    if name not in known:
        raise PlugmtError(f"unknown {role} architecture {name!r}; registered: {', '.join(sorted(known))}")
    return known[name]


def typed_config(role: str, settings: Mapping[str, Any]) -> Any:
    """Settings (a dict or DictConfig with `name`) as the architecture's config dataclass."""
    from omegaconf import OmegaConf

    arch = architecture(role, str(settings["name"]))
    fields = {f.name for f in dataclasses.fields(arch.config_cls)}
    unknown = sorted(set(settings) - fields)
    if unknown:
        raise PlugmtError(
            f"{role} {arch.name!r} has no setting {unknown[0]!r}; its settings: {', '.join(sorted(fields))}"
        )
    merged = OmegaConf.merge(OmegaConf.structured(arch.config_cls), dict(settings))
    return OmegaConf.to_object(merged)


def build_encoder(settings: Mapping[str, Any], vocab_size: int) -> Any:
    config = typed_config("encoder", settings)
    encoder = architecture("encoder", config.name).cls(config, vocab_size)
    encoder.build_weights()
    return encoder


def build_decoder(settings: Mapping[str, Any], vocab_size: int, thought: Any) -> Any:
    """A decoder for `thought` (a ThoughtSpec); refused in plain words if it cannot read it."""
    from plugmt.encoders.thought import Thought

    config = typed_config("decoder", settings)
    cls = architecture("decoder", config.name).cls
    reason = cls.refusal(config, thought)
    if reason:
        raise PlugmtError(f"decoder architecture {config.name!r} {reason}")
    decoder = cls(config, vocab_size, thought)
    decoder.build_weights(_dummy_thought(Thought, thought))
    return decoder


def _dummy_thought(thought_cls: type, spec: Any) -> Any:
    import tensorflow as tf

    vector = tf.zeros((1, spec.width))
    if spec.kind == "vector":
        return thought_cls(kind="vector", states=(vector, vector))
    memory = tf.zeros((1, 1, spec.width))
    mask = tf.ones((1, 1), dtype=tf.bool) if spec.kind == "memory" else None
    return thought_cls(kind=spec.kind, memory=memory, mask=mask)


# --------------------------------------------------------------------------- weights


def weight_arrays(layer: Any) -> list[np.ndarray]:
    return [np.asarray(w.numpy()) for w in layer.weights]


def fingerprint(arrays: list[np.ndarray]) -> str:
    """SHA-256 over every weight's dtype, shape and bytes, in order: equal iff the weights are."""
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def _npz_bytes(arrays: list[np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **{f"w{i:04d}": a for i, a in enumerate(arrays)})
    return buffer.getvalue()


def _assign_weights(layer: Any, path: Path) -> None:
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = [data[f"w{i:04d}"] for i in range(len(data.files))]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as error:
        raise PlugmtError(f"cannot read weights file {path}: {error}") from None
    if [a.shape for a in arrays] != [tuple(w.shape) for w in layer.weights]:
        raise PlugmtError(f"weights file {path} does not match its config.json (shapes differ)")
    for variable, array in zip(layer.weights, arrays, strict=True):
        variable.assign(array)


# --------------------------------------------------------------------------- the store


@dataclass(frozen=True)
class StoredModule:
    """A module folder in the store and its metadata (meta.json)."""

    path: Path
    meta: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.meta["id"])

    @property
    def config(self) -> dict[str, Any]:
        return _read_json(self.path / "config.json")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PlugmtError(f"store file {path} is missing; remove the damaged module") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise PlugmtError(f"store file {path} is damaged ({error}); remove the module") from None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Store:
    """Encoders and language decoders on disk.

    ``encoders/<encoder-id>/`` and ``decoders/<encoder-id>/<lang>/<decoder-id>/``, each holding
    config.json, weights.npz, vocab.model and meta.json (with a SHA-256 of every other file).
    A module is written into a hidden temporary folder and renamed into place, so a reader never
    sees half of one and a failed write leaves nothing behind.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser()

    # ---- writing

    def save_encoder(self, encoder: Any, vocab: Any, record: Mapping[str, Any]) -> StoredModule:
        arrays = weight_arrays(encoder)
        weights_print = fingerprint(arrays)
        encoder_id = f"{encoder.config.name}-{weights_print[:12]}"
        config = {
            "architecture": encoder.config.name,
            "settings": dataclasses.asdict(encoder.config),
            "vocab_size": encoder.vocab_size,
            "thought": encoder.thought_spec().to_json(),
        }
        meta = {"id": encoder_id, "role": "encoder", "fingerprint": weights_print, **record}
        final = self.root / "encoders" / encoder_id
        if final.exists():  # same weights, same id: already stored
            return self._module(final)
        return self._write(final, config, arrays, vocab.model_bytes, meta)

    def save_decoder(
        self, decoder: Any, vocab: Any, encoder: StoredModule, record: Mapping[str, Any]
    ) -> StoredModule:
        arrays = weight_arrays(decoder)
        lang = str(record["lang"])
        created = _now()
        decoder_id = f"{lang}-{created[:19].replace(':', '').replace('-', '')}-{fingerprint(arrays)[:8]}"
        config = {
            "architecture": decoder.config.name,
            "settings": dataclasses.asdict(decoder.config),
            "vocab_size": decoder.vocab_size,
            "thought": decoder.thought.to_json(),
        }
        meta = {
            "id": decoder_id,
            "role": "decoder",
            "encoder_id": encoder.id,
            "encoder_fingerprint": encoder.meta["fingerprint"],
            "created": created,
            **record,
        }
        final = self.root / "decoders" / encoder.id / lang / decoder_id
        return self._write(final, config, arrays, vocab.model_bytes, meta)

    def _write(
        self,
        final: Path,
        config: dict[str, Any],
        arrays: list[np.ndarray],
        vocab_bytes: bytes,
        meta: dict[str, Any],
    ) -> StoredModule:
        files = {
            "config.json": json.dumps(config, indent=2, sort_keys=True).encode(),
            "weights.npz": _npz_bytes(arrays),
            "vocab.model": vocab_bytes,
        }
        meta = {"created": _now(), **meta, "files": {n: _sha256(b) for n, b in files.items()}}
        files["meta.json"] = json.dumps(meta, indent=2, sort_keys=True).encode()
        final.parent.mkdir(parents=True, exist_ok=True)
        temporary = final.parent / f".tmp-{final.name}-{uuid.uuid4().hex[:8]}"
        temporary.mkdir()
        try:
            for name, data in files.items():
                with open(temporary / name, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
            os.rename(temporary, final)
        finally:
            shutil.rmtree(temporary, ignore_errors=True)
        return StoredModule(final, meta)

    # ---- reading

    def _module(self, path: Path) -> StoredModule:
        return StoredModule(path, _read_json(path / "meta.json"))

    def _modules(self, pattern: str) -> list[StoredModule]:
        if not self.root.is_dir():
            return []
        found = [self._module(p) for p in sorted(self.root.glob(pattern)) if p.is_dir()]
        found = [m for m in found if not m.path.name.startswith(".")]
        return sorted(found, key=lambda m: (str(m.meta.get("created", "")), m.id))

    def encoders(self) -> list[StoredModule]:
        """Every stored encoder, oldest first."""
        return self._modules("encoders/*")

    def decoders(self, encoder_id: str = "*", lang: str = "*") -> list[StoredModule]:
        """Stored decoders (by default all), oldest first."""
        return self._modules(f"decoders/{encoder_id}/{lang}/*")

    def encoder(self, encoder_id: str | None = None) -> StoredModule:
        """The named encoder (id or unique id prefix), or the newest one."""
        encoders = self.encoders()
        if not encoders:
            raise PlugmtError(
                f"the store {self.root} has no encoder; train one first with `plugmt-train` "
                "(or point store=... / PLUGMT_STORE at another store)"
            )
        if encoder_id is None:
            return encoders[-1]
        matches = [e for e in encoders if e.id == encoder_id or e.id.startswith(encoder_id)]
        if len(matches) != 1:
            raise PlugmtError(
                f"encoder {encoder_id!r} is {'ambiguous' if matches else 'not in the store'} "
                f"{self.root}; stored encoders: {', '.join(e.id for e in encoders)}"
            )
        return matches[0]

    def resolve_decoder(self, name: str, encoder: StoredModule, allow_foreign: bool = False) -> StoredModule:
        """`name` is a language (newest decoder for it) or a decoder id.

        A decoder trained against another encoder (another fingerprint) is refused unless
        `allow_foreign`: feeding it these thoughts is an experiment, not a default.
        """
        everything = self.decoders()
        matches = [d for d in everything if name in (d.id, d.meta.get("lang"))]
        if not matches:
            langs = sorted({str(d.meta.get("lang")) for d in everything})
            raise PlugmtError(
                f"no decoder {name!r} in the store {self.root}; stored decoder languages: "
                f"{', '.join(langs) or 'none'} (train one with `plugmt-train train.mode=plugin "
                f"decoder.lang={name} data.pairs=[<src>-{name}]`)"
            )
        fitting = [d for d in matches if d.meta["encoder_fingerprint"] == encoder.meta["fingerprint"]]
        if fitting:
            return fitting[-1]
        if allow_foreign:
            return matches[-1]
        foreign = matches[-1]
        raise PlugmtError(
            f"decoder {name!r} ({foreign.id}) was trained against encoder "
            f"{foreign.meta['encoder_fingerprint'][:12]}…, this is encoder "
            f"{encoder.meta['fingerprint'][:12]}… ({encoder.id}); pass allow_foreign=true to try it anyway"
        )

    def verify(self, module: StoredModule) -> None:
        """Refuse a module whose files are missing or differ from the checksums it was saved with."""
        for name, expected in module.meta.get("files", {}).items():
            path = module.path / name
            if not path.is_file():
                raise PlugmtError(f"store file {path} is missing; remove the damaged module or re-train it")
            if _sha256(path.read_bytes()) != expected:
                raise PlugmtError(
                    f"store file {path} is truncated or modified (checksum mismatch); "
                    "remove the damaged module or re-train it"
                )

    def load_encoder(self, module: StoredModule) -> tuple[Any, Any]:
        """(encoder layer, its Vocab), weights verified then loaded."""
        from plugmt.corpora.vocab import Vocab

        self.verify(module)
        config = module.config
        encoder = build_encoder(config["settings"], int(config["vocab_size"]))
        _assign_weights(encoder, module.path / "weights.npz")
        return encoder, Vocab((module.path / "vocab.model").read_bytes())

    def load_decoder(self, module: StoredModule, thought: Any) -> tuple[Any, Any]:
        """(decoder layer, its Vocab) for an encoder emitting `thought` (a ThoughtSpec)."""
        from plugmt.corpora.vocab import Vocab
        from plugmt.encoders.thought import ThoughtSpec

        self.verify(module)
        config = module.config
        trained_for = ThoughtSpec.from_json(config["thought"])
        if trained_for != thought:
            raise PlugmtError(
                f"decoder {module.id} reads {trained_for.kind} thoughts of width {trained_for.width}, "
                f"this encoder emits {thought.kind} thoughts of width {thought.width}"
            )
        decoder = build_decoder(config["settings"], int(config["vocab_size"]), thought)
        _assign_weights(decoder, module.path / "weights.npz")
        return decoder, Vocab((module.path / "vocab.model").read_bytes())
