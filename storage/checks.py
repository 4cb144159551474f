"""The one validator of a stored module: a module is valid, or it is not loaded.

Import (`bundles`), load (`registry.load_encoder` / `load_decoder`), listing and `plugmt-registry
verify` all judge a module here, so they cannot disagree about what a valid module is. Nothing here
imports TensorFlow or model code: a module is checked as data (JSON, an `.npz` read without pickle,
a SentencePiece model). What it refuses (docs/BAD_INPUT.md, "Hostile modules"):

- meta.json: not a JSON object; its `seal` missing or not the SHA-256 of the rest of it (meta.json
  holds every other file's checksum, so the seal covers the whole module: an edit is detected);
  `id` not a safe name equal to its folder's; `role` not the folder's;
  `files` missing, not a name -> SHA-256 map of exactly the module's files; `created` not a UTC
  timestamp, or in the future; a `fingerprint` that is not a SHA-256; for a decoder, `lang` /
  `encoder_id` not the folders it sits in, `pairs` not [source, lang] pairs, `max_len` not a whole
  number from 1 to MAX_DECODE_LEN; for an encoder, `languages` not a list of names.
- config.json: an OmegaConf expression (``${...}``) anywhere (stored configs are plain data, never
  resolved), a non-finite number, settings that are not flat scalars, a size that is not a whole
  number from 1 to MAX_SIZE, a `max_len` over MAX_DECODE_LEN, a dropout outside [0, 1), an unknown
  thought kind, `settings.name` other than `architecture`, an encoder id that is not
  `<architecture>-<fingerprint[:12]>`.
- files (full check): a checksum that differs from meta.json; weights that need pickle, are not
  floating point, hold NaN or infinity, or whose recomputed fingerprint is not the recorded one (nor
  the one in the id); a vocab.model that is not a SentencePiece model with plugmt's special ids and
  the config's vocab_size; a card (README.md) that is not UTF-8 text of at most 64 KiB.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, NoReturn

import numpy as np

from plugmt.errors import PlugmtError
from plugmt.storage.card import CARD, MAX_CARD_BYTES
from plugmt.storage.module import SEAL, seal
from plugmt.storage.weights import fingerprint, read_npz
from plugmt.thought import BOS_ID, EOS_ID, MAX_DECODE_LEN, PAD_ID, THOUGHT_KINDS, UNK_ID

MODULE_FILES = ("config.json", "weights.npz", "vocab.model", CARD)
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
SHA256 = re.compile(r"[0-9a-f]{64}")
MAX_SIZE = 1 << 16  # any width, count of units/heads/layers/slots
MAX_VOCAB = 1 << 20
SPECIAL_IDS = {"pad_id": PAD_ID, "unk_id": UNK_ID, "bos_id": BOS_ID, "eos_id": EOS_ID}
CLOCK_SKEW = timedelta(minutes=10)  # a module made on a host whose clock runs a little ahead

# fail(file name, what is wrong) raises a PlugmtError worded for where the module is.
Fail = Callable[[str, str], NoReturn]


def check_meta(data: bytes, key: str, fail: Fail) -> dict[str, Any]:
    """meta.json's object, checked against the folder `key` it sits in (e.g. decoders/<e>/<l>/<id>),
    and last against its seal (so a forger who re-seals still meets every other check)."""
    meta = _check_meta_fields(_object(data, "meta.json", fail), key, fail)
    if SEAL not in meta:
        fail("meta.json", f"has no `{SEAL}` (the SHA-256 of the rest of meta.json; plugmt writes one)")
    if meta[SEAL] != seal(meta):
        fail("meta.json", f"was changed after the module was stored (its `{SEAL}` does not match)")
    return meta


def _check_meta_fields(meta: dict[str, Any], key: str, fail: Fail) -> dict[str, Any]:
    parts = key.split("/")
    role = "encoder" if parts[0] == "encoders" else "decoder"
    if meta.get("role") != role:
        fail("meta.json", f"has role {meta.get('role')!r}, but the module sits among the {role}s")
    _name(meta, "id", fail)
    if meta["id"] != parts[-1]:
        fail("meta.json", f"names id {meta['id']!r}, but its folder is {parts[-1]!r}")
    files = meta.get("files")
    if not isinstance(files, dict):
        fail("meta.json", "has no `files` map of checksums (without it nothing could be verified)")
    if sorted(files) != sorted(MODULE_FILES) or not all(
        isinstance(v, str) and SHA256.fullmatch(v) for v in files.values()
    ):
        fail("meta.json", f"`files` must map exactly {', '.join(MODULE_FILES)} to SHA-256 checksums")
    _created(meta, fail)
    if not isinstance(meta.get("fingerprint"), str) or not SHA256.fullmatch(meta["fingerprint"]):
        fail("meta.json", "has no weights `fingerprint` (a SHA-256)")
    if role == "encoder":
        languages = meta.get("languages")
        if not isinstance(languages, list) or not all(_safe(x) for x in languages):
            fail("meta.json", "`languages` must be a list of language codes")
        if "space" in meta or "teacher" in meta:  # a student encoder (train.mode=student)
            if not isinstance(meta.get("space"), str) or not SHA256.fullmatch(meta["space"]):
                fail("meta.json", "`space` (a student's teacher fingerprint) must be a SHA-256")
            _name(meta, "teacher", fail)
        return meta
    _name(meta, "lang", fail)
    _name(meta, "encoder_id", fail)
    if len(parts) == 4 and (meta["encoder_id"], meta["lang"]) != (parts[1], parts[2]):
        fail(
            "meta.json",
            f"says encoder {meta['encoder_id']!r}, language {meta['lang']!r}, but it sits under "
            f"decoders/{parts[1]}/{parts[2]}",
        )
    if not isinstance(meta.get("encoder_fingerprint"), str) or not SHA256.fullmatch(
        meta["encoder_fingerprint"]
    ):
        fail("meta.json", "has no `encoder_fingerprint` (a SHA-256)")
    pairs = meta.get("pairs", [])
    if not isinstance(pairs, list) or not all(
        isinstance(p, list) and len(p) == 2 and _safe(p[0]) and p[1] == meta["lang"] for p in pairs
    ):
        fail("meta.json", f"`pairs` must be a list of [source, {meta['lang']!r}] pairs")
    max_len = meta.get("max_len")
    if not _whole(max_len) or not 1 <= max_len <= MAX_DECODE_LEN:
        fail("meta.json", f"max_len={max_len!r} is not a whole number from 1 to {MAX_DECODE_LEN}")
    if f"-{meta['fingerprint'][:8]}-" not in meta["id"]:
        fail("meta.json", "names an id that does not carry its weights' fingerprint")
    return meta


def check_config(data: bytes, meta: Mapping[str, Any], fail: Fail) -> dict[str, Any]:
    """config.json's object: plain, bounded data for the architecture it names."""
    config = _object(data, "config.json", fail)
    check_plain(config, fail)
    name = config.get("architecture")
    settings = config.get("settings")
    if not _safe(name) or not isinstance(settings, dict) or settings.get("name") != name:
        fail("config.json", "must name an `architecture` and hold its `settings` (with that name)")
    for field, value in settings.items():
        if isinstance(value, (dict, list)):
            fail("config.json", f"setting {field!r} is not a single value")
        allowed = setting_bounds(field, value)
        if allowed:
            fail("config.json", f"setting {field}={value} is not {allowed}")
    if meta.get("role") == "decoder" and settings.get("lang") not in (None, meta.get("lang")):
        fail("config.json", f"is for language {settings['lang']!r}, the module for {meta.get('lang')!r}")
    vocab_size = config.get("vocab_size")
    if not _whole(vocab_size) or not 4 <= vocab_size <= MAX_VOCAB:
        fail("config.json", f"vocab_size={vocab_size!r} is not a whole number from 4 to {MAX_VOCAB}")
    thought = config.get("thought")
    if (
        not isinstance(thought, dict)
        or thought.get("kind") not in THOUGHT_KINDS
        or not _whole(thought.get("width"))
        or not 1 <= thought["width"] <= MAX_SIZE
    ):
        fail("config.json", f"`thought` must be a kind ({', '.join(THOUGHT_KINDS)}) and a positive width")
    if meta.get("role") == "encoder" and meta.get("id") != f"{name}-{meta.get('fingerprint', '')[:12]}":
        fail("meta.json", f"encoder id {meta.get('id')!r} is not its architecture and fingerprint")
    return config


def setting_bounds(field: str, value: Any) -> str | None:
    """What an architecture's scalar setting must be, when `value` is not that (None: it is fine).

    Sizes, counts and `max_len` are whole numbers from 1 up; dropouts are rates in [0, 1). Stored
    configs are held to it here and the settings a user gives before training (workflows/settings.py),
    so no run trains a module that would then be refused."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return None
    if isinstance(value, int):
        bound = MAX_DECODE_LEN if field == "max_len" else MAX_SIZE
        return None if 1 <= value <= bound else f"a whole number from 1 to {bound}"
    if "dropout" in field and not (isinstance(value, float) and 0 <= value < 1):
        return "a rate in [0, 1)"
    return None


def check_files(
    contents: Mapping[str, bytes], meta: Mapping[str, Any], config: Mapping[str, Any], fail: Fail
) -> None:
    """Checksums, weights (finite floats with the recorded fingerprint) and the vocabulary."""
    for name, expected in meta["files"].items():
        if _sha256(contents[name]) != expected:
            fail(name, "is truncated or modified (checksum mismatch)")
    try:
        arrays = read_npz(contents["weights.npz"], "weights.npz")
    except PlugmtError as error:
        fail("weights.npz", f"cannot be read ({error})")
    if not arrays:
        fail("weights.npz", "holds no weights")
    for index, array in enumerate(arrays):
        if array.dtype.kind != "f":
            fail("weights.npz", f"weight w{index:04d} is {array.dtype}, not floating point")
        if not np.isfinite(array).all():
            fail("weights.npz", f"weight w{index:04d} holds NaN or infinite values")
    if fingerprint(arrays) != meta["fingerprint"]:
        fail("weights.npz", "does not have the fingerprint meta.json records (other weights)")
    if not any(config["vocab_size"] in a.shape for a in arrays):
        fail("weights.npz", f"has no table for the config's {config['vocab_size']} vocabulary entries")
    _vocab(contents["vocab.model"], int(config["vocab_size"]), fail)
    try:
        contents[CARD].decode("utf-8")
    except UnicodeDecodeError:
        fail(CARD, "is not UTF-8 text")
    if len(contents[CARD]) > MAX_CARD_BYTES:
        fail(CARD, f"is over {MAX_CARD_BYTES} bytes")


def check_module(
    read: Callable[[str], bytes], key: str, fail: Fail, full: bool = True
) -> tuple[dict[str, Any], dict[str, Any], dict[str, bytes]]:
    """(meta, config, contents) of the module in folder `key`, whose files `read(name)` gives.

    Without `full`, only meta.json and config.json (checksum included): what listing a store costs.
    """
    contents: dict[str, bytes] = {}
    for name in ("meta.json", "config.json", *(MODULE_FILES[1:] if full else ())):
        try:
            contents[name] = read(name)
        except FileNotFoundError:
            fail(name, "is missing" if name != "meta.json" else "is missing (an empty or partial folder)")
    meta = check_meta(contents["meta.json"], key, fail)
    if _sha256(contents["config.json"]) != meta["files"]["config.json"]:
        fail("config.json", "is truncated or modified (checksum mismatch)")
    config = check_config(contents["config.json"], meta, fail)
    if full:
        check_files(contents, meta, config, fail)
    return meta, config, contents


# --------------------------------------------------------------------------- pieces


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _object(data: bytes, name: str, fail: Fail) -> dict[str, Any]:
    try:
        value = json.loads(data.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
        fail(name, f"is not valid JSON ({str(error).splitlines()[0] if str(error) else 'too deep'})")
    if not isinstance(value, dict):
        fail(name, "is not a JSON object")
    return value


def check_plain(value: Any, fail: Fail, at: str = "") -> None:
    """No OmegaConf expression, no NaN or infinity, anywhere in a stored config."""
    if isinstance(value, dict):
        for key, item in value.items():
            check_plain(item, fail, f"{at}.{key}" if at else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_plain(item, fail, f"{at}[{index}]")
    elif isinstance(value, str) and "${" in value:
        # The value itself is not repeated: it may name a secret.
        fail("config.json", f"holds an OmegaConf expression at {at} (stored configs are plain data)")
    elif isinstance(value, float) and not math.isfinite(value):
        fail("config.json", f"holds {value} at {at}")


def _safe(value: Any) -> bool:
    return isinstance(value, str) and SAFE_NAME.fullmatch(value) is not None


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _name(meta: Mapping[str, Any], field: str, fail: Fail) -> None:
    if not _safe(meta.get(field)):
        fail("meta.json", f"`{field}` {meta.get(field)!r} is not a name (letters, digits, . _ -)")


def _created(meta: Mapping[str, Any], fail: Fail) -> None:
    created = meta.get("created")
    try:
        when = datetime.fromisoformat(str(created).replace("Z", "+00:00"))
    except ValueError:
        when = None
    if not isinstance(created, str) or when is None or when.tzinfo is None:
        fail("meta.json", f"created={created!r} is not a UTC time like 2026-05-05T12:00:00Z")
    if when > datetime.now(timezone.utc) + CLOCK_SKEW:
        fail("meta.json", f"created={created!r} is in the future")


def _vocab(data: bytes, size: int, fail: Fail) -> None:
    import sentencepiece as spm

    try:
        processor = spm.SentencePieceProcessor(model_proto=data)
    except (RuntimeError, TypeError, ValueError):
        fail("vocab.model", "is not a SentencePiece model")
    if processor.get_piece_size() != size:
        fail("vocab.model", f"has {processor.get_piece_size()} pieces, the config says vocab_size={size}")
    for special, expected in SPECIAL_IDS.items():
        if getattr(processor, special)() != expected:
            fail("vocab.model", f"has {special}={getattr(processor, special)()}, plugmt's is {expected}")
