"""One encoder and one decoder with their vocabularies, compiled once: what translation, validation
(`training.monitor`) and the matrix run. `Translator` (translator.py) hands them out by name."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from plugmt.corpora.vocab import Vocab
from plugmt.inference.decode import decode_ids, search_settings
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
