"""SentencePiece vocabularies, trained on a training split and stored inside the module using them."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence

import numpy as np
import sentencepiece as spm

from plugmt.errors import PlugmtError

PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3


class Vocab:
    """A SentencePiece model with plugmt's fixed special ids (pad 0, unk 1, bos 2, eos 3)."""

    def __init__(self, model_bytes: bytes) -> None:
        self.model_bytes = bytes(model_bytes)
        self._sp = spm.SentencePieceProcessor(model_proto=self.model_bytes)

    @classmethod
    def train(cls, texts: Iterable[str], model_type: str = "char", size: int = 8000) -> Vocab:
        """Learn a vocabulary from `texts`.

        For `char` models `size` is only an upper bound (every character seen is kept); for
        `unigram`/`bpe` it is the size asked of SentencePiece.
        """
        buffer = io.BytesIO()
        try:
            spm.SentencePieceTrainer.train(
                sentence_iterator=iter([t for t in texts if t]),
                model_writer=buffer,
                model_type=model_type,
                vocab_size=size,
                hard_vocab_limit=model_type != "char",
                character_coverage=1.0,
                pad_id=PAD_ID,
                unk_id=UNK_ID,
                bos_id=BOS_ID,
                eos_id=EOS_ID,
                # Keep text exactly as written: translations are compared character for character.
                normalization_rule_name="identity",
                add_dummy_prefix=False,
                minloglevel=2,
                num_threads=1,
            )
        except RuntimeError as error:
            raise PlugmtError(
                f"SentencePiece could not train a {model_type} vocabulary of size {size}: {error}"
            ) from None
        return cls(buffer.getvalue())

    @property
    def size(self) -> int:
        return int(self._sp.get_piece_size())

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        return self._sp.encode(list(texts))

    def decode(self, ids: Iterable[Sequence[int]]) -> list[str]:
        """Ids up to (not including) the first EOS or padding, as text."""
        cleaned = []
        for row in ids:
            row = list(row)
            for stop in (EOS_ID, PAD_ID):
                if stop in row:
                    row = row[: row.index(stop)]
            cleaned.append([int(i) for i in row if i != BOS_ID])
        return self._sp.decode(cleaned)

    def encode_padded(self, texts: Sequence[str], add_eos: bool = False) -> np.ndarray:
        """Ids [N, longest] int32, right-padded with 0; optionally each row ended by EOS."""
        rows = self.encode(texts)
        if add_eos:
            rows = [[*r, EOS_ID] for r in rows]
        width = max((len(r) for r in rows), default=0) or 1
        out = np.zeros((len(rows), width), dtype=np.int32)
        for i, row in enumerate(rows):
            out[i, : len(row)] = row
        return out
