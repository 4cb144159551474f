"""Translation: text -> encoder vocab -> Thought -> decoder -> greedy search -> text."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from plugmt.corpora.vocab import Vocab
from plugmt.decoders.search import beam_search, greedy_search
from plugmt.errors import PlugmtError
from plugmt.registry import Store, StoredModule


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
    ) -> None:
        self.source_vocab = source_vocab
        self.target_vocab = target_vocab

        @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32)])
        def decode(ids: tf.Tensor) -> tf.Tensor:
            thought = encoder.encode(ids)
            if beam_size > 1:
                return beam_search(decoder, thought, max_len, beam_size, length_penalty)[0]
            return greedy_search(decoder, thought, max_len)

        self._decode = decode

    def __call__(self, texts: Sequence[str], batch_size: int = 256) -> list[str]:
        """Translations in input order; an empty line translates to an empty line."""
        ids = self.source_vocab.encode(texts)
        order = sorted((i for i, row in enumerate(ids) if row), key=lambda i: len(ids[i]))
        results = [""] * len(texts)
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            width = max(len(ids[i]) for i in chunk)
            batch = np.zeros((len(chunk), width), dtype=np.int32)
            for row, i in enumerate(chunk):
                batch[row, : len(ids[i])] = ids[i]
            decoded = self.target_vocab.decode(self._decode(batch).numpy())
            for i, text in zip(chunk, decoded, strict=True):
                results[i] = text
        return results


@dataclass
class PluggedDecoder:
    module: StoredModule
    pipeline: Pipeline

    @property
    def lang(self) -> str:
        return str(self.module.meta["lang"])


class Translator:
    """A stored encoder and whichever stored decoders are asked for, swapped by name.

    >>> translator = Translator.open("store")
    >>> translator.translate(["May 5, 2026"], decoder="es")
    """

    def __init__(
        self,
        store: Store,
        encoder: StoredModule,
        allow_foreign: bool = False,
        beam_size: int = 1,
        length_penalty: float = 0.0,
    ) -> None:
        if beam_size < 1:
            raise PlugmtError(f"beam_size={beam_size}: it must be 1 (greedy) or more")
        self.store = store
        self.encoder_module = encoder
        self.allow_foreign = allow_foreign
        self.beam_size = int(beam_size)
        self.length_penalty = float(length_penalty)
        self.encoder, self.source_vocab = store.load_encoder(encoder)
        self._plugged: dict[str, PluggedDecoder] = {}

    @classmethod
    def open(
        cls,
        store: str | Path | Store = "store",
        encoder: str | None = None,
        allow_foreign: bool = False,
        beam_size: int = 1,
        length_penalty: float = 0.0,
    ) -> Translator:
        """The named (or newest) encoder of a store."""
        store = store if isinstance(store, Store) else Store(store)
        return cls(store, store.encoder(encoder), allow_foreign, beam_size, length_penalty)

    def plug(self, name: str) -> PluggedDecoder:
        """The decoder `name` (a language or a decoder id), loaded once and kept."""
        module = self.store.resolve_decoder(name, self.encoder_module, self.allow_foreign)
        if module.id not in self._plugged:
            decoder, vocab = self.store.load_decoder(module, self.encoder.thought_spec())
            pipeline = Pipeline(self.encoder, self.source_vocab, decoder, vocab, int(module.meta["max_len"]))
            self._plugged[module.id] = PluggedDecoder(module, pipeline)
        return self._plugged[module.id]

    def translate(self, texts: Sequence[str], decoder: str, batch_size: int = 256) -> list[str]:
        return self.plug(decoder).pipeline(texts, batch_size)
