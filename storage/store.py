"""The store of trained modules: ``encoders/<encoder-id>/`` and ``decoders/<encoder-id>/<lang>/<id>/``,
each with config.json, weights.npz, vocab.model, README.md (its card) and meta.json (the others'
SHA-256, sealed). An encoder is named by its weights' fingerprint; a decoder fits the encoders of the
thought space it was trained against (`spaces`). The store holds bytes and metadata only: it checks
a module as data (`checks`) and builds no model (the registry does, from `Store.checked`).

Many processes may write one store at once: no index (the listing is the folders), unique folders,
each module appearing in one atomic step (`files`). Saves share the store lock and `remove` holds it
alone, so "does anything point to this encoder?" and its removal have no save in between.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import secrets
import sys
from collections.abc import Callable, Mapping
from pathlib import PurePosixPath
from typing import Any, NoReturn

import numpy as np

from plugmt.errors import PlugmtError
from plugmt.storage.checks import check_module
from plugmt.storage.files import StoreFiles, open_files
from plugmt.storage.module import (
    Storable,
    StoredModule,
    Vocabulary,
    layer_config,
    module_files,
    module_key,
    now,
    space_of,
)
from plugmt.storage.weights import fingerprint, npz_bytes, weight_arrays

__all__ = ["Store"]


class Store:
    """Encoders and language decoders in a folder, or behind an fsspec URL (``memory://team``); a
    module is published in one step, so no reader sees half of one and a failed write leaves none."""

    def __init__(self, root: str | os.PathLike[str], warn: bool = True) -> None:
        self.files: StoreFiles = open_files(root)
        self.root = self.files.root
        self.warn = warn  # report each damaged module on stderr when a listing skips it
        self.damaged: dict[str, str] = {}  # folder -> what is wrong, as of the last listing

    # ---- writing

    def save_encoder(self, encoder: Storable, vocab: Vocabulary, record: Mapping[str, Any]) -> StoredModule:
        arrays = weight_arrays(encoder)
        weights_print = fingerprint(arrays)
        encoder_id = f"{encoder.config.name}-{weights_print[:12]}"
        config = layer_config(encoder, encoder.thought_spec())
        # The store's own keys last: a training record cannot rename or re-date the module.
        meta = {**record, "id": encoder_id, "role": "encoder", "fingerprint": weights_print, "created": now()}
        key = module_key(meta)
        if self.files.exists(f"{key}/meta.json"):  # same weights, same id: already stored
            return self._module(key)
        return self._write(key, config, arrays, vocab.model_bytes, meta)

    def save_decoder(
        self,
        decoder: Storable,
        vocab: Vocabulary,
        encoder: StoredModule,
        record: Mapping[str, Any],
        reuse_twin: bool = False,
    ) -> StoredModule:
        """Store a decoder under a new id; with `reuse_twin`, return the stored decoder of this
        encoder and language with exactly these weights instead, if there is one (a resumed stage
        whose first attempt was killed after saving, before cleaning up, must not store twins)."""
        arrays = weight_arrays(decoder)
        weights_print = fingerprint(arrays)
        lang = str(record["lang"])
        if reuse_twin:
            for stored in self.decoders(encoder.id, lang):
                if stored.meta.get("fingerprint") == weights_print:
                    return stored
        created = now()
        stamp = created[:19].replace(":", "").replace("-", "")
        # The random suffix keeps two decoders saved in the same second with equal weights apart.
        decoder_id = f"{lang}-{stamp}-{weights_print[:8]}-{secrets.token_hex(3)}"
        config = layer_config(decoder, decoder.thought)
        meta = {
            **record,
            "id": decoder_id,
            "role": "decoder",
            "encoder_id": encoder.id,
            "encoder_fingerprint": encoder.meta["fingerprint"],
            "fingerprint": weights_print,
            "created": created,
        }
        # Its encoder must still be there when it is published (checked under the store lock, which
        # `remove` holds alone): a decoder is never stored against a removed encoder.
        needs = f"encoders/{encoder.id}/meta.json"
        return self._write(module_key(meta), config, arrays, vocab.model_bytes, meta, needs)

    def _write(
        self,
        key: str,
        config: dict[str, Any],
        arrays: list[np.ndarray],
        vocab_bytes: bytes,
        meta: dict[str, Any],
        needs: str | None = None,
    ) -> StoredModule:
        files = module_files(config, npz_bytes(arrays), vocab_bytes, meta)
        # A store never writes a module it would refuse to list (e.g. a record without max_len).
        check_module(files.__getitem__, key, self.failure(key), full=False)
        if not self.publish(key, files, needs) and meta["role"] != "encoder":
            # Encoders are named by their weights, so losing that race means they are stored;
            # two decoders never share a name, so this one would otherwise be lost silently.
            raise PlugmtError(f"module {meta['id']} already exists in the store {self.root}; save it again")
        return self._module(key)

    def publish(self, key: str, files: Mapping[str, bytes], needs: str | None = None) -> bool:
        """Put a whole module folder in place in one step; False (and nothing written) if it exists.

        `needs`: a file that must still exist (a decoder's encoder), or nothing is written.
        """
        with self.files.lock(exclusive=False):
            if needs and not self.files.exists(needs):
                encoder = needs.split("/")[1]
                raise PlugmtError(
                    f"encoder {encoder} was removed from the store {self.root} while this run trained "
                    "against it, so its decoder is not stored; import or re-train the encoder and rerun"
                )
            return self.files.publish(key, files)

    def remove(self, module: StoredModule, force: bool = False) -> None:
        """Delete a module atomically (a damaged one too); an encoder that stored decoders point to,
        or that a training run is using, only with `force`."""
        with self.files.lock(exclusive=True):
            if module.role == "encoder" and not force:
                decoders = self.files.folders(f"decoders/{module.id}/*/*")
                students = [e.key for e in self.encoders() if e.meta.get("teacher") == module.id]
                for dependants, what in (
                    (decoders, "stored decoder(s) trained against it"),
                    (students, "student encoder(s) of its space"),
                ):
                    if dependants:
                        raise PlugmtError(
                            f"encoder {module.id} has {len(dependants)} {what} (e.g. "
                            f"{PurePosixPath(dependants[0]).name}); remove them first or pass --force "
                            "to orphan them"
                        )
                if self.files.in_use(f"encoder-{module.id}"):
                    raise PlugmtError(
                        f"encoder {module.id} is in use by a training run in progress; wait for "
                        "it to finish (or stop it), or pass --force to remove the encoder anyway"
                    )
            if not self.files.exists(module.key):
                raise PlugmtError(f"module {module.id} is no longer in the store {self.root}")
            self.files.remove(module.key)

    def using_encoder(self, module: StoredModule) -> contextlib.AbstractContextManager[None]:
        """Held by a plug-in run while it trains against `module`: `remove` then refuses it."""
        return self.files.use(f"encoder-{module.id}")

    def check_writable(self) -> None:
        """Before any training: the store is a folder this process can write, whose modules outlive
        it. One line naming the store and the way out otherwise."""
        self.files.check_writable()

    # ---- reading

    def failure(self, key: str) -> Callable[[str, str], NoReturn]:
        name = PurePosixPath(key).name

        def fail(file: str, what: str) -> NoReturn:
            raise PlugmtError(
                f"store file {self.files.url(f'{key}/{file}')} {what}; remove the damaged module "
                f"(`plugmt-registry remove {name}`) or re-train it"
            )

        return fail

    def _module(self, key: str) -> StoredModule:
        """The module in folder `key`, its meta.json and config.json checked (cheap: no weights)."""
        path, location = self.files.where(key), self.files.url(key)

        def read(name: str) -> bytes:
            return self.files.read(f"{key}/{name}")

        meta, _, _ = check_module(read, key, self.failure(key), full=False)
        return StoredModule(path, meta, key, read, location)

    def _modules(self, pattern: str) -> list[StoredModule]:
        """The valid modules of folders matching `pattern`; each damaged one is reported (once, on
        stderr) and skipped, so it never hides the rest of the store."""
        found = []
        keys = self.files.folders(pattern)
        for gone in [k for k in self.damaged if fnmatch.fnmatchcase(k, pattern) and k not in keys]:
            del self.damaged[gone]  # removed since the last listing
        for key in keys:
            try:
                found.append(self._module(key))
            except PlugmtError as error:
                if self.damaged.get(key) != str(error) and self.warn:
                    print(f"plugmt: warning: skipped a damaged module: {error}", file=sys.stderr)
                self.damaged[key] = str(error)
            else:
                self.damaged.pop(key, None)
        return sorted(found, key=lambda m: (str(m.meta["created"]), m.id))

    def damaged_modules(self) -> list[StoredModule]:
        """Every module folder that fails its check (what is wrong: `self.damaged[module.key]`)."""
        self.encoders(), self.decoders()
        return [self._damaged(key) for key in sorted(self.damaged)]

    def _damaged(self, key: str) -> StoredModule:
        path, location = self.files.where(key), self.files.url(key)
        return StoredModule(path, {}, key, lambda name: self.files.read(f"{key}/{name}"), location)

    def encoders(self) -> list[StoredModule]:
        """Every stored encoder, oldest first."""
        return self._modules("encoders/*")

    def decoders(self, encoder_id: str = "*", lang: str = "*") -> list[StoredModule]:
        """Stored decoders (by default all), oldest first."""
        return self._modules(f"decoders/{encoder_id}/{lang}/*")

    def find(self, module_id: str, damaged: bool = False) -> StoredModule:
        """The encoder or decoder with exactly this id; with `damaged`, also a damaged module by
        its folder's name (to remove it)."""
        for module in self.encoders() + self.decoders():
            if module.id == module_id:
                return module
        if damaged:
            for key in sorted(self.damaged):
                if PurePosixPath(key).name == module_id:
                    return self._damaged(key)
        raise PlugmtError(
            f"no module {module_id!r} in the store {self.root}; `plugmt-registry list` shows them"
        )

    def encoder(self, encoder_id: str | None = None) -> StoredModule:
        """The named encoder (id or unique id prefix), or the newest one that is not a student."""
        encoders = self.encoders()
        if not encoders:
            raise PlugmtError(
                f"the store {self.root} has no encoder; train one first with `plugmt-train` "
                "(or point store=... / PLUGMT_STORE at another store)"
            )
        if encoder_id is None:
            return ([e for e in encoders if not e.meta.get("space")] or encoders)[-1]
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
        fitting = [d for d in matches if d.meta["encoder_fingerprint"] == space_of(encoder.meta)]
        if fitting:
            return fitting[-1]
        if allow_foreign:
            return matches[-1]
        foreign = matches[-1]
        raise PlugmtError(
            f"decoder {name!r} ({foreign.id}) was trained against encoder "
            f"{foreign.meta['encoder_fingerprint'][:12]}…, this is encoder "
            f"{space_of(encoder.meta)[:12]}… ({encoder.id}); pass allow_foreign=true to try it anyway"
        )

    def has_encoder(self, encoder_id: str) -> bool:
        return self.files.exists(f"encoders/{encoder_id}/meta.json")

    def verify(self, module: StoredModule) -> dict[str, bytes]:
        """Every file of the module, once the whole module passed its check (`storage.checks`)."""
        return self.checked(module)[1]

    def checked(self, module: StoredModule) -> tuple[dict[str, Any], dict[str, bytes]]:
        """(config, contents) of a module that passed every check of `storage.checks`."""
        _, config, contents = check_module(module.read or module.file, module.key, self.failure(module.key))
        return config, contents
