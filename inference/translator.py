"""Translation: text -> encoder vocab -> Thought -> decoder -> greedy search -> text."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

import numpy as np
import tensorflow as tf

from plugmt.errors import PlugmtError
from plugmt.inference.decode import search_settings
from plugmt.inference.pipeline import Pipeline  # re-exported: training and tests import it from here
from plugmt.registry import load_decoder, load_encoder
from plugmt.storage import Store, StoredModule
from plugmt.storage.module import space_of
from plugmt.storage.spaces import member_for
from plugmt.thought import Thought


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
        adapter_texts: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.beam_size, self.length_penalty = search_settings(beam_size, length_penalty)
        self.store = store
        self.encoder_module = encoder
        self.allow_foreign = allow_foreign
        # A foreign decoder (trained against another encoder) reads through a map fitted on these
        # sentences (by language; those both encoders read).
        self.adapter = adapter
        self.adapter_texts = {lang: list(texts) for lang, texts in (adapter_texts or {}).items()}
        self.encoder, self.source_vocab = load_encoder(store, encoder)
        self._plugged: dict[str, PluggedDecoder] = {}
        self._members: dict[str, Translator] = {}

    @classmethod
    def open(
        cls,
        store: str | Path | Store = "store",
        encoder: str | None = None,
        allow_foreign: bool = False,
        beam_size: int = 1,
        length_penalty: float = 0.0,
        adapter: str | None = None,
        adapter_texts: Mapping[str, Sequence[str]] | None = None,
    ) -> Translator:
        """The named (or newest) encoder of a store."""
        store = store if isinstance(store, Store) else Store(store)
        return cls(
            store, store.encoder(encoder), allow_foreign, beam_size, length_penalty, adapter, adapter_texts
        )

    def member(self, lang: str) -> Translator:
        """A translator through the encoder of this one's thought space that reads `lang` (this
        one, its teacher or a student: `storage.spaces.member_for`), with the same search settings."""
        module = member_for(self.store, self.encoder_module, lang)
        if module.id == self.encoder_module.id:
            return self
        if module.id not in self._members:
            self._members[module.id] = Translator(
                self.store, module, self.allow_foreign, self.beam_size, self.length_penalty
            )
        return self._members[module.id]

    def plug(self, name: str) -> PluggedDecoder:
        """The decoder `name` (a language or a decoder id), loaded once and kept."""
        module = self.store.resolve_decoder(name, self.encoder_module, self.allow_foreign)
        if module.id not in self._plugged:
            spec, adapt = self.encoder.thought_spec(), None
            foreign = module.meta["encoder_fingerprint"] != space_of(self.encoder_module.meta)
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
        mine, theirs = (m.meta.get("languages", []) for m in (self.encoder_module, own[-1]))
        both = [lang for lang in self.adapter_texts if lang in mine and lang in theirs]
        if not both:
            raise PlugmtError(
                f"adapter={self.adapter} needs sentences in a language both encoders read (this one reads "
                f"{', '.join(mine)}; decoder {module.id}'s encoder reads {', '.join(theirs)}; sentences were "
                f"given in {', '.join(self.adapter_texts) or 'none'})"
            )
        texts = [text for lang in both for text in self.adapter_texts[lang]]
        trained_with, trained_vocab = load_encoder(self.store, own[-1])
        adapter = adapter_between(
            self.adapter, self.encoder, self.source_vocab, trained_with, trained_vocab, texts
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
        source: str | None = None,
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
        source: str | None = None,
    ) -> list[str]: ...

    def translate(
        self,
        texts: str | Sequence[str],
        decoder: str,
        batch_size: int = 256,
        *,
        beam_size: int | None = None,
        length_penalty: float | None = None,
        source: str | None = None,
    ) -> str | list[str]:
        """One sentence (a str) gives its translation (a str); a list of them, a list in order.

        `beam_size` (1: greedy) and `length_penalty` hold for this call only; None keeps the
        translator's own (`Translator.open(..., beam_size=, length_penalty=)`). `source`: the
        texts' language, when another encoder of this one's thought space reads it (a student,
        `train.mode=student`): that encoder reads them (`Translator.member`)."""
        if source is not None:
            member = self.member(source)
            if member is not self:
                return member.translate(
                    texts, decoder, batch_size, beam_size=beam_size, length_penalty=length_penalty
                )
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
