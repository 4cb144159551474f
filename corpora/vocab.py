"""SentencePiece vocabularies, trained on a training split and stored inside the module using them."""

from __future__ import annotations

import hashlib
import io
import itertools
import logging
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import sentencepiece as spm

from plugmt.atomic import atomic_path
from plugmt.errors import PlugmtError
from plugmt.thought import BOS_ID, EOS_ID, PAD_ID, UNK_ID

log = logging.getLogger("plugmt.data")


VOCAB_FORMAT = 1  # bump when the training settings below change: it is part of the cache key

WORD_BOUNDARY = "\u2581"  # "▁": SentencePiece's stand-in for a space, inside the pieces it learns


def isolated_symbols(isolate: str) -> list[str]:
    """`data.isolate` as SentencePiece's user-defined symbols: a space is its "▁", so that it becomes
    a piece of its own (as a space, SentencePiece would never see it: it turns spaces into "▁" first)."""
    return sorted(set(isolate.replace(" ", WORD_BOUNDARY)))


def cache_root(cache_dir: str | Path | None) -> Path:
    """plugmt's cache folder: `data.cache_dir`, else $PLUGMT_CACHE, else ~/.cache/plugmt."""
    chosen = cache_dir or os.environ.get("PLUGMT_CACHE") or "~/.cache/plugmt"
    return Path(os.path.expanduser(str(chosen)))


def _explain(error: RuntimeError, model_type: str, size: int) -> str:
    """SentencePiece's own complaint, turned into what to change."""
    text = str(error)
    limit = re.search(r"value <= (\d+)", text)
    if limit:
        return (
            f"data.vocab_size={size} is more than this text supports for a {model_type} vocabulary "
            f"(SentencePiece: at most {limit.group(1)}); set data.vocab_size<={limit.group(1)} "
            "or train on more text"
        )
    chars = re.search(r"smaller than required_chars\. \d+ vs (\d+)", text)
    if chars:
        return (
            f"a {model_type} vocabulary of {size} pieces cannot hold every character of this text (each "
            f"is a piece) and the special pieces: {chars.group(1)} are needed; set data.vocab_size "
            f"(data.source_vocab_size for the encoder's) to at least {chars.group(1)}"
        )
    return f"SentencePiece could not train a {model_type} vocabulary of size {size}: {text.splitlines()[0]}"


class Vocab:
    """A SentencePiece model with plugmt's fixed special ids (pad 0, unk 1, bos 2, eos 3)."""

    def __init__(self, model_bytes: bytes) -> None:
        self.model_bytes = bytes(model_bytes)
        self._sp = spm.SentencePieceProcessor(model_proto=self.model_bytes)

    @classmethod
    def train(
        cls,
        texts: Iterable[str],
        model_type: str = "char",
        size: int = 8000,
        split_digits: bool = False,
        isolate: str = "",
    ) -> Vocab:
        """Learn a vocabulary from `texts`.

        For `char` models `size` is only an upper bound (every character seen is kept), for `bpe`
        too (merges stop when the text has no pair left); for `unigram` it is the size asked of
        SentencePiece. `split_digits`: every digit is a
        piece of its own, so a number reads the same in every format ("1950" after a space or
        after "12.02."); without it BPE learns pieces such as ".02.195" that no other format shares.
        `isolate`: characters that are always a piece of their own and never inside another (e.g.
        "." cuts "12.02.1950" into "12 . 02 . 1950", so the year is one piece, as in other formats; a
        space keeps word boundaries out of pieces, so "1950" after a space (May 5, 1950) is the piece
        it is where no space comes before it, as in 1950年5月5日).
        """
        buffer = io.BytesIO()
        try:
            spm.SentencePieceTrainer.train(
                sentence_iterator=iter([t for t in texts if t]),
                model_writer=buffer,
                model_type=model_type,
                vocab_size=size,
                # char and bpe: `size` is an upper bound (BPE stops when no pair is left to merge)
                hard_vocab_limit=model_type == "unigram",
                split_digits=split_digits,
                user_defined_symbols=isolated_symbols(isolate),
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
            raise PlugmtError(_explain(error, model_type, size)) from None
        return cls(buffer.getvalue())

    @classmethod
    def cached(
        cls,
        texts: Sequence[str],
        model_type: str,
        size: int,
        cache_dir: str | Path | None,
        split_digits: bool = False,
        isolate: str = "",
    ) -> Vocab:
        """`train`, unless a vocabulary of the same text and settings was trained before.

        Keyed by a hash of (settings, every text): SentencePiece on Multi30k-sized text takes
        seconds, and a sweep of decoders over one corpus would retrain the same model each run.
        """
        isolate = "".join(isolated_symbols(isolate))  # one key for ".," and ",." (and " " and "▁")
        settings = f"{VOCAB_FORMAT}|{model_type}|{size}|{spm.__version__}" + ("|split_digits" * split_digits)
        settings += f"|isolate={isolate}" * bool(isolate)
        digest = hashlib.sha256(settings.encode())
        for text in texts:
            digest.update(text.encode())
            digest.update(b"\n")
        path = cache_root(cache_dir) / "vocab" / f"{model_type}-{size}-{digest.hexdigest()[:20]}.model"
        if path.is_file():
            return cls(path.read_bytes())
        vocab = cls.train(texts, model_type, size, split_digits, isolate)
        # Beside the final name, then renamed: a killed run or a parallel one never leaves half a file.
        with atomic_path(path) as temporary:
            temporary.write_bytes(vocab.model_bytes)
        log.info(f"vocabulary: {model_type} {vocab.size} pieces from {len(texts):,} lines (cached)")
        return vocab

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
        lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
        width = int(lengths.max(initial=0)) + int(add_eos) or 1
        # Vectorised: a Python loop over rows was 40% of tokenising the phrasebook.
        flat = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int32, count=int(lengths.sum()))
        out = np.zeros((len(rows), width), dtype=np.int32)
        out[np.arange(width)[None, :] < lengths[:, None]] = flat
        if add_eos:
            out[np.arange(len(rows)), lengths] = EOS_ID
        return out
