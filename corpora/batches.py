"""Training batches drawn across translation directions from token ids prepared once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from plugmt.corpora.pairs import Pair
from plugmt.corpora.vocab import BOS_ID


@dataclass(frozen=True)
class Batch:
    pair: Pair
    source: np.ndarray  # [B, S] encoder ids
    target_in: np.ndarray  # [B, T] BOS + target
    target_out: np.ndarray  # [B, T] target + EOS
    other_source: np.ndarray  # [B, S'] the same meanings in another encoder language


def _trim(ids: np.ndarray) -> np.ndarray:
    """Drop padding columns: a batch is only as wide as its longest row."""
    used = np.flatnonzero(ids.any(axis=0))
    return ids[:, : (used[-1] + 1 if used.size else 1)]


class PairBatches:
    """An endless stream of batches; each is one direction and one group (e.g. one date style).

    Drawing one group per batch keeps rows of similar length together, so padding stays small.
    Sources and targets were tokenised once (`source_ids[lang]` rows align with the corpus rows).
    """

    def __init__(
        self,
        source_ids: dict[str, np.ndarray],
        target_ids: dict[str, np.ndarray],
        groups: Sequence[str],
        pairs: Sequence[Pair],
        batch_size: int,
        seed: int,
        align_languages: Sequence[str] = (),
    ) -> None:
        self.source_ids = source_ids
        self.target_ids = target_ids
        self.pairs = list(pairs)
        self.batch_size = int(batch_size)
        self.align_languages = list(align_languages)
        self.rng = np.random.default_rng(seed)
        labels = np.asarray(groups)
        self.group_rows = [np.flatnonzero(labels == g) for g in sorted(set(labels.tolist()))]
        sizes = np.array([len(rows) for rows in self.group_rows], dtype=float)
        self.group_weights = sizes / sizes.sum()

    def __iter__(self) -> PairBatches:
        return self

    def __next__(self) -> Batch:
        src, tgt = self.pairs[self.rng.integers(len(self.pairs))]
        rows = self.group_rows[self.rng.choice(len(self.group_rows), p=self.group_weights)]
        chosen = self.rng.choice(rows, size=self.batch_size, replace=len(rows) < self.batch_size)
        target = _trim(self.target_ids[tgt][chosen])
        target_in = np.concatenate(
            [np.full((len(chosen), 1), BOS_ID, dtype=np.int32), target[:, :-1]], axis=1
        )
        others = [lang for lang in self.align_languages if lang != src]
        other = others[self.rng.integers(len(others))] if others else src
        return Batch(
            pair=(src, tgt),
            source=_trim(self.source_ids[src][chosen]),
            target_in=target_in,
            target_out=target,
            other_source=_trim(self.source_ids[other][chosen]),
        )
