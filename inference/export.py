"""`plugmt-export`: one (encoder, decoder) pair as a TF SavedModel, strings in and strings out.

Serving should not need plugmt: the SavedModel holds the weights, the search loop and both
SentencePiece models (tensorflow-text's SentencePiece op), so a server loads it with

    import tensorflow as tf, tensorflow_text  # the import registers the SentencePiece op
    translate = tf.saved_model.load("exported/es").signatures["serving_default"]
    translate(text=tf.constant(["May 5, 2026"]))["translation"]

and nothing else. The graph does what `Pipeline` does (tokenise without BOS/EOS, encode, greedy or
beam search over the decoder's `step`, cut at EOS, detokenise; an empty line gives an empty line), so
the two agree sentence for sentence — tests/test_export.py holds them to that.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import tensorflow as tf

from plugmt.atomic import atomic_path
from plugmt.errors import PlugmtError
from plugmt.inference.decode import decode_ids, search_settings
from plugmt.registry import load_decoder, load_encoder
from plugmt.storage import Store, StoredModule
from plugmt.storage.module import space_of
from plugmt.storage.spaces import member_for
from plugmt.thought import EOS_ID, PAD_ID

EXPORT_FORMAT = 1
INFO_FILE = "assets.extra/plugmt.json"  # TF Serving's place for files the runtime does not read


def _tensorflow_text() -> Any:
    try:
        import tensorflow_text
    except ImportError:
        raise PlugmtError(
            "plugmt-export needs tensorflow-text (the in-graph SentencePiece tokenizer): "
            "pip install 'plugmt[export]'"
        ) from None
    return tensorflow_text


def _until_end(ids: tf.Tensor) -> tf.Tensor:
    """Each row's length up to (not including) its first EOS or padding: what `Vocab.decode` keeps."""
    going = tf.logical_and(tf.not_equal(ids, EOS_ID), tf.not_equal(ids, PAD_ID))
    return tf.reduce_sum(tf.math.cumprod(tf.cast(going, tf.int32), axis=1), axis=1)


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """File descriptor 2 pointed at /dev/null: tensorflow-text's SentencePiece logs an INFO line
    ("precompiled_charsmap is empty") from C++ for every model with identity normalisation, as ours
    are, and no setting reaches it from Python. Errors still arrive as Python exceptions."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _tokenizer(text: Any, model: bytes) -> Any:
    name = f"sentencepiece_{hashlib.sha256(model).hexdigest()[:16]}"
    with _native_stderr_silenced():  # the model is loaded (and the line logged) here
        return text.SentencepieceTokenizer(model, out_type=tf.int32, name=name)


class TranslationModule(tf.Module):
    """The exported graph: `translate(text [N] string) -> {"translation": [N] string}`."""

    def __init__(
        self,
        encoder: Any,
        source_model: bytes,
        decoder: Any,
        target_model: bytes,
        max_len: int,
        beam_size: int = 1,
        length_penalty: float = 0.0,
    ) -> None:
        super().__init__(name="plugmt_translation")
        text = _tensorflow_text()
        # Attributes of a tf.Module are tracked: both layers' variables and both tokenizers'
        # resources (with their model protos) are written into the SavedModel.
        self.encoder = encoder
        self.decoder = decoder
        # Named by the model's hash: the op's model resource is shared by node name, and two unnamed
        # tokenizers in one SavedModel both got whichever model loaded first (the test caught it).
        self.source_tokenizer = _tokenizer(text, source_model)
        self.target_tokenizer = _tokenizer(text, target_model)
        self.max_len = int(max_len)
        self.beam_size = int(beam_size)
        self.length_penalty = float(length_penalty)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def translate(self, text: tf.Tensor) -> dict[str, tf.Tensor]:
        pieces = self.source_tokenizer.tokenize(text)
        ids = pieces.to_tensor(default_value=PAD_ID)
        # At least one column, so a batch of empty lines still has a shape the encoder accepts.
        ids = tf.pad(ids, [[0, 0], [0, tf.maximum(1 - tf.shape(ids)[1], 0)]])
        out = decode_ids(self.encoder, self.decoder, ids, self.max_len, self.beam_size, self.length_penalty)
        words = self.target_tokenizer.detokenize(tf.RaggedTensor.from_tensor(out, lengths=_until_end(out)))
        empty = tf.equal(pieces.row_lengths(), 0)
        return {"translation": tf.where(empty, tf.constant(""), words)}


def export_pair(
    store: Store,
    decoder: str,
    out: str | Path,
    encoder_id: str | None = None,
    allow_foreign: bool = False,
    beam_size: int = 1,
    length_penalty: float = 0.0,
    overwrite: bool = False,
    source: str | None = None,
) -> Path:
    """Write the SavedModel for the store's encoder (named or newest) and decoder `decoder`; with
    `source`, for the encoder of that encoder's thought space that reads it (e.g. a student).

    Written beside `out` and renamed into place, so a failed export leaves no half model behind,
    and an existing `out` is only replaced when `overwrite`.
    """
    beam_size, length_penalty = search_settings(beam_size, length_penalty)
    target = Path(out)
    if target.exists() and not (overwrite and target.is_dir()):
        what = "a file" if not target.is_dir() else "a folder"
        raise PlugmtError(f"out={target} is already {what}; choose another out= or pass overwrite=true")
    _tensorflow_text()
    encoder_module = store.encoder(encoder_id)
    if source is not None:
        encoder_module = member_for(store, encoder_module, source)
    decoder_module = store.resolve_decoder(decoder, encoder_module, allow_foreign)
    encoder, source_vocab = load_encoder(store, encoder_module)
    language_decoder, target_vocab = load_decoder(store, decoder_module, encoder.thought_spec())
    module = TranslationModule(
        encoder,
        source_vocab.model_bytes,
        language_decoder,
        target_vocab.model_bytes,
        int(decoder_module.meta["max_len"]),
        beam_size,
        length_penalty,
    )
    with atomic_path(target, replace_folder=True) as staging:
        with _native_stderr_silenced():  # saving re-creates the tokenizers' resources: same line again
            signature = module.translate.get_concrete_function()
            tf.saved_model.save(module, str(staging), signatures={"serving_default": signature})
        info = staging / INFO_FILE
        info.parent.mkdir(parents=True, exist_ok=True)
        described = _describe(encoder_module, decoder_module, beam_size, length_penalty)
        info.write_text(json.dumps(described, indent=2))
    return target


def _describe(encoder: StoredModule, decoder: StoredModule, beam_size: int, length_penalty: float) -> dict:
    """What was exported, for whoever receives the folder."""
    from plugmt.storage.bundles import versions

    return {
        "format": EXPORT_FORMAT,
        "versions": {**versions(), "tensorflow-text": _tensorflow_text().__version__},
        "encoder": {
            "id": encoder.id,
            "fingerprint": encoder.meta["fingerprint"],
            "languages": encoder.meta.get("languages", []),
            "space": space_of(encoder.meta),
        },
        "decoder": {
            "id": decoder.id,
            "lang": decoder.meta.get("lang"),
            "encoder_fingerprint": decoder.meta["encoder_fingerprint"],
            "max_len": decoder.meta["max_len"],
        },
        "search": {"beam_size": beam_size, "length_penalty": length_penalty},
        "signature": {"serving_default": {"text": "string [N] in", "translation": "string [N] out"}},
        "load": "import tensorflow as tf, tensorflow_text; "
        "tf.saved_model.load(path).signatures['serving_default']",
    }
