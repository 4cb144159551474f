"""Translation: text -> encoder vocab -> Thought -> decoder -> greedy search -> text."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

import numpy as np
import tensorflow as tf

from plugmt.corpora.vocab import Vocab
from plugmt.errors import PlugmtError
from plugmt.inference.decode import decode_ids, search_settings
from plugmt.registry import load_decoder, load_encoder
from plugmt.storage import Store, StoredModule
from plugmt.thought import PAD_ID, Thought


class Pipeline:
    """One encoder and one decoder with their vocabularies, compiled once for greedy or beam search."""

    def __init__(
        self,
        encoder: Any,
        source_vocab: Vocab,
        decoder: Any,
        target_vocab: Vocab,
        max_len: int,
        beam_size: int = 1,
        length_penalty: float = 0.0,
        adapt: Callable[[Thought], Thought] | None = None,
    ) -> None:
        self.source_vocab = source_vocab
        self.target_vocab = target_vocab
        self.beam_size, self.length_penalty = search_settings(beam_size, length_penalty)
        self.encoder, self.decoder, self.adapt, self.max_len = encoder, decoder, adapt, int(max_len)
        self._loss: Any = None
        self._searches: dict[tuple[int, float], Any] = {}  # one compiled search per setting used

    def _search(self, beam_size: int, length_penalty: float) -> Any:
        length_penalty = length_penalty if beam_size > 1 else 0.0  # greedy search ignores it
        if (beam_size, length_penalty) not in self._searches:
            encoder, decoder, max_len, adapt = self.encoder, self.decoder, self.max_len, self.adapt

            @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32)])
            def decode(ids: tf.Tensor) -> tf.Tensor:
                return decode_ids(encoder, decoder, ids, max_len, beam_size, length_penalty, adapt)

            self._searches[beam_size, length_penalty] = decode
        return self._searches[beam_size, length_penalty]

    def __call__(
        self,
        texts: Sequence[str],
        batch_size: int = 256,
        beam_size: int | None = None,
        length_penalty: float | None = None,
    ) -> list[str]:
        """Translations in input order; an empty line translates to an empty line. `beam_size` and
        `length_penalty` default to the pipeline's own."""
        search = self._search(
            *search_settings(
                self.beam_size if beam_size is None else beam_size,
                self.length_penalty if length_penalty is None else length_penalty,
            )
        )
        ids = self.source_vocab.encode(texts)
        order = sorted((i for i, row in enumerate(ids) if row), key=lambda i: len(ids[i]))
        results = [""] * len(texts)
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            width = max(len(ids[i]) for i in chunk)
            batch = np.zeros((len(chunk), width), dtype=np.int32)
            for row, i in enumerate(chunk):
                batch[row, : len(ids[i])] = ids[i]
            decoded = self.target_vocab.decode(search(batch).numpy())
            for i, text in zip(chunk, decoded, strict=True):
                results[i] = text
        return results

    def loss(self, texts: Sequence[str], references: Sequence[str], batch_size: int = 256) -> float:
        """Mean per-token cross-entropy of `references` given `texts`, teacher-forced: the
        validation loss, which keeps measuring how sure the model is after exact match saturates."""
        from plugmt.layers.losses import masked_cross_entropy
        from plugmt.thought import BOS_ID

        if self._loss is None:
            ids = tf.TensorSpec([None, None], tf.int32)

            @tf.function(input_signature=[ids, ids, ids])
            def summed(source: tf.Tensor, target_in: tf.Tensor, target_out: tf.Tensor) -> tf.Tensor:
                thought = self.encoder.encode(source)
                if self.adapt is not None:
                    thought = self.adapt(thought)
                logits = self.decoder.teacher_forced(target_in, thought)
                tokens = tf.reduce_sum(tf.cast(tf.not_equal(target_out, PAD_ID), tf.float32))
                return tf.stack([masked_cross_entropy(target_out, logits) * tokens, tokens])

            self._loss = summed
        total = np.zeros(2)
        for start in range(0, len(texts), batch_size):
            source = self.source_vocab.encode_padded(texts[start : start + batch_size])
            out = self.target_vocab.encode_padded(references[start : start + batch_size], add_eos=True)
            bos = np.full((len(out), 1), BOS_ID, dtype=np.int32)
            total += self._loss(source, np.concatenate([bos, out[:, :-1]], axis=1), out).numpy()
        return float(total[0] / max(total[1], 1.0))


@dataclass
class PluggedDecoder:
    module: StoredModule
    pipeline: Pipeline

    @property
    def lang(self) -> str:
        return str(self.module.meta["lang"])


class Translator:
    """A stored encoder and whichever stored decoders are asked for, swapped by name.

    >>> translator = Translator.open("store", beam_size=1)  # the defaults of every call
    >>> translator.translate("May 5, 2026", decoder="es")  # a str for a str
    >>> translator.translate(["May 5, 2026", "5 mai 2026"], decoder="es", beam_size=4)  # a list for a list
    >>> translator.encode(["May 5, 2026"])  # the thoughts every decoder reads, as NumPy arrays
    """

    def __init__(
        self,
        store: Store,
        encoder: StoredModule,
        allow_foreign: bool = False,
        beam_size: int = 1,
        length_penalty: float = 0.0,
        adapter: str | None = None,
        adapter_texts: Sequence[str] = (),
    ) -> None:
        self.beam_size, self.length_penalty = search_settings(beam_size, length_penalty)
        self.store = store
        self.encoder_module = encoder
        self.allow_foreign = allow_foreign
        # A foreign decoder (trained against another encoder) reads through a map fitted on these.
        self.adapter = adapter
        self.adapter_texts = list(adapter_texts)
        self.encoder, self.source_vocab = load_encoder(store, encoder)
        self._plugged: dict[str, PluggedDecoder] = {}

    @classmethod
    def open(
        cls,
        store: str | Path | Store = "store",
        encoder: str | None = None,
        allow_foreign: bool = False,
        beam_size: int = 1,
        length_penalty: float = 0.0,
        adapter: str | None = None,
        adapter_texts: Sequence[str] = (),
    ) -> Translator:
        """The named (or newest) encoder of a store."""
        store = store if isinstance(store, Store) else Store(store)
        return cls(
            store, store.encoder(encoder), allow_foreign, beam_size, length_penalty, adapter, adapter_texts
        )

    def plug(self, name: str) -> PluggedDecoder:
        """The decoder `name` (a language or a decoder id), loaded once and kept."""
        module = self.store.resolve_decoder(name, self.encoder_module, self.allow_foreign)
        if module.id not in self._plugged:
            spec, adapt = self.encoder.thought_spec(), None
            foreign = module.meta["encoder_fingerprint"] != self.encoder_module.meta["fingerprint"]
            if foreign and self.adapter:
                spec, adapt = self._adapter_for(module)
            decoder, vocab = load_decoder(self.store, module, spec)
            pipeline = Pipeline(
                self.encoder,
                self.source_vocab,
                decoder,
                vocab,
                int(module.meta["max_len"]),
                self.beam_size,
                self.length_penalty,
                adapt,
            )
            self._plugged[module.id] = PluggedDecoder(module, pipeline)
        return self._plugged[module.id]

    def _adapter_for(self, module: StoredModule) -> tuple[Any, Callable[[Thought], Thought]]:
        """The decoder's own encoder's thought spec, and a map into its space from this encoder's."""
        from plugmt.inference.adapters import adapter_between

        wanted = module.meta["encoder_fingerprint"]
        own = [e for e in self.store.encoders() if e.meta["fingerprint"] == wanted]
        if not own:
            raise PlugmtError(
                f"adapter={self.adapter} for decoder {module.id} needs the encoder it was trained with "
                f"(fingerprint {wanted[:12]}…) in the store; import it or drop the adapter"
            )
        if not self.adapter_texts:
            raise PlugmtError(f"adapter={self.adapter} needs sentences to fit on; none were given")
        trained_with, trained_vocab = load_encoder(self.store, own[-1])
        adapter = adapter_between(
            self.adapter, self.encoder, self.source_vocab, trained_with, trained_vocab, self.adapter_texts
        )
        return trained_with.thought_spec(), adapter

    @overload
    def translate(
        self,
        texts: str,
        decoder: str,
        batch_size: int = 256,
        *,
        beam_size: int | None = None,
        length_penalty: float | None = None,
    ) -> str: ...

    @overload
    def translate(
        self,
        texts: Sequence[str],
        decoder: str,
        batch_size: int = 256,
        *,
        beam_size: int | None = None,
        length_penalty: float | None = None,
    ) -> list[str]: ...

    def translate(
        self,
        texts: str | Sequence[str],
        decoder: str,
        batch_size: int = 256,
        *,
        beam_size: int | None = None,
        length_penalty: float | None = None,
    ) -> str | list[str]:
        """One sentence (a str) gives its translation (a str); a list of them, a list in order.

        `beam_size` (1: greedy) and `length_penalty` hold for this call only; None keeps the
        translator's own (`Translator.open(..., beam_size=, length_penalty=)`)."""
        search_settings(
            self.beam_size if beam_size is None else beam_size,
            self.length_penalty if length_penalty is None else length_penalty,
        )
        given = _sentences(texts, "translate", batch_size)
        translated = self.plug(decoder).pipeline(given, batch_size, beam_size, length_penalty)
        return translated[0] if isinstance(texts, str) else translated

    def encode(self, texts: str | Sequence[str], batch_size: int = 256) -> Thought:
        """The thoughts the encoder hands every decoder, as NumPy arrays (a str is a batch of one):

        - ``vector`` (encoder=lstm): ``states``, a tuple of [B, D] float arrays (the LSTM's h, c);
        - ``slots`` (encoder=bridge): ``memory`` [B, K, D], K fixed slots per sentence;
        - ``memory`` (encoder=transformer): ``memory`` [B, T, D] and ``mask`` [B, T] (true at a
          sentence's own tokens; T is the longest sentence's length in the encoder's tokens).
        """
        texts = _sentences(texts, "encode", batch_size)
        parts = []
        for start in range(0, len(texts), batch_size):
            ids = self.source_vocab.encode_padded(texts[start : start + batch_size])
            parts.append(self.encoder.encode(tf.constant(ids)).map(lambda t: np.asarray(t)))
        longest = max((p.memory.shape[1] for p in parts if p.memory is not None), default=0)

        def joined(arrays: list[np.ndarray]) -> np.ndarray:
            pad = [[(0, 0), (0, longest - a.shape[1])] + [(0, 0)] * (a.ndim - 2) for a in arrays]
            return np.concatenate([np.pad(a, p) for a, p in zip(arrays, pad, strict=True)])

        first = parts[0]
        return Thought(
            kind=first.kind,
            states=tuple(np.concatenate(s) for s in zip(*(p.states for p in parts), strict=True)),
            memory=None if first.memory is None else joined([p.memory for p in parts]),
            mask=None if first.mask is None else joined([p.mask for p in parts]),
        )


def _sentences(texts: str | Sequence[str], method: str, batch_size: int) -> list[str]:
    """A lone sentence or a list of them, as a list; a batch size that is not one is refused."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        why = (
            "too small"
            if isinstance(batch_size, int) and not isinstance(batch_size, bool)
            else "not a whole number"
        )
        raise PlugmtError(f"batch_size={batch_size}: {why} (allowed: a whole number >= 1)")
    texts = [texts] if isinstance(texts, str) else list(texts)
    if not all(isinstance(text, str) for text in texts) or (method == "encode" and not texts):
        raise PlugmtError(f"{method}() takes a sentence (str) or a list of sentences (str)")
    return texts
