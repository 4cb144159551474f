"""Training batches: one set of meanings, read in one or two source languages, every decoder fed.

A batch picks B meanings of one group (e.g. one date style, so rows are of similar length), a primary
source language, and, when the encoder is being aligned or another language reaches decoders the
first does not, a partner source language. Each decoder then learns from whichever of the two sources
it was trained on (a trained direction); decoders neither reaches sit this batch out. One encoder
pass over both sources thus trains many directions at once, and the two thoughts of the same
meanings are there to be aligned.

With `shares` (data.disjoint_pairs, see `corpora/shares.py`) a batch instead draws one direction,
takes its meanings from that language pair's share, reads the pair's two languages and trains only
the directions within that pair.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from plugmt.corpora.pairs import Pair, agreement_triple
from plugmt.corpora.shares import Share, share_of
from plugmt.corpora.variants import VariantIds, longest_variants, read_sources
from plugmt.errors import PlugmtError
from plugmt.thought import BOS_ID

TOKEN_BAND = 2  # train.batch_tokens: tokens per length band (benchmarks/padding.py, docs/RESULTS.md)


@dataclass(frozen=True)
class Batch:
    languages: tuple[str, ...]  # the source languages read, 1 or 2
    sources: np.ndarray  # [K, B, S] encoder ids, K = len(languages)
    target_in: tuple[np.ndarray, ...]  # per decoder (in `decoders` order): BOS + target, [B, T]
    target_out: tuple[np.ndarray, ...]  # per decoder: target + EOS; one padding column if idle
    source_index: np.ndarray  # [n_decoders] which of the K sources each decoder reads
    directions: tuple[Pair, ...]  # the directions this batch trains
    agree: tuple[int, int, int] = (-1, 0, 0)  # train.agreement's (decoder, teacher, student): pairs.py


def by_group(labels: np.ndarray, rows: np.ndarray, temperature: float) -> tuple[list[np.ndarray], np.ndarray]:
    """`rows` split by group label, and each group's drawing weight: size**(1/temperature), summing to 1."""
    chosen = labels[rows]
    group_rows = [rows[chosen == g] for g in sorted(set(chosen.tolist()))]
    sizes = np.array([len(r) for r in group_rows], dtype=float)
    scaled = sizes ** (1.0 / temperature)
    return group_rows, scaled / scaled.sum()


def trim_padding(ids: np.ndarray, multiple: int = 1) -> np.ndarray:
    """Drop padding columns: a batch is only as wide as its longest row, rounded up to `multiple`.

    Rounding bounds the number of distinct batch shapes, which XLA compiles one program for each.
    """
    used = np.flatnonzero(ids.any(axis=0))
    width = used[-1] + 1 if used.size else 1
    width = -(-width // multiple) * multiple
    if width > ids.shape[1]:
        return np.pad(ids, [(0, 0), (0, width - ids.shape[1])])
    return ids[:, :width]


class SeededStream:
    """An endless stream whose batch *i* is a pure function of (seed, i) (`batch(i)`): its whole
    state is its position, so a resumed run continues exactly where it stopped."""

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self.position = 0

    def batch(self, index: int) -> Batch:
        raise NotImplementedError

    def state(self) -> dict[str, int]:
        """Everything needed to continue the stream (JSON-able)."""
        return {"seed": self.seed, "position": self.position}

    def restore(self, state: dict[str, int]) -> None:
        """Continue from a `state()`: the next batches are the ones that would have come."""
        self.seed = int(state["seed"])
        self.position = int(state["position"])

    def __iter__(self) -> SeededStream:
        return self

    def __next__(self) -> Batch:
        batch = self.batch(self.position)
        self.position += 1
        return batch


def side_by_side(read: Sequence[np.ndarray]) -> np.ndarray:
    """Id arrays [B, S_k] of the same rows as one [K, B, max S_k] array, right-padded."""
    sources = np.zeros((len(read), len(read[0]), max(r.shape[1] for r in read)), dtype=np.int32)
    for k, ids in enumerate(read):
        sources[k, :, : ids.shape[1]] = ids
    return sources


class MultiTargetBatches(SeededStream):
    """An endless, seeded stream of batches over `pairs`, tokenised once up front.

    `source_ids[lang]` and `target_ids[lang]` rows align with the corpus rows; `decoders` fixes the
    order of the per-decoder fields; `two_sources` lets a batch read a partner language.

    Batch *i* is a pure function of (seed, i): the stream's whole state is its `position`, so a
    resumed run continues exactly where it stopped, and batches can be made ahead (prefetched)
    without changing which batches a run sees.

    Groups (phrasebook families, or length bands of a file corpus) are drawn with probability
    proportional to size**(1/temperature): 1 samples by size, larger values flatten toward uniform
    (Arivazhagan et al. 2019 use T=5 across languages), so small families are not drowned out.
    """

    def __init__(
        self,
        source_ids: dict[str, np.ndarray],
        target_ids: dict[str, np.ndarray],
        groups: Sequence[str],
        pairs: Sequence[Pair],
        decoders: Sequence[str],
        batch_size: int,
        seed: int,
        two_sources: bool,
        temperature: float = 1.0,
        length_multiple: int = 1,
        shares: Mapping[Share, np.ndarray] | None = None,
        batch_tokens: int | None = None,
        variants: VariantIds | None = None,
    ) -> None:
        super().__init__(seed)
        self.source_ids = source_ids
        self.variants = dict(variants or {})  # train.source_variants: corpora/variants.py
        self.target_ids = target_ids
        self.pairs = list(pairs)
        self.decoders = list(decoders)
        self.batch_size = int(batch_size)
        self.length_multiple = int(length_multiple)
        if not temperature > 0:
            raise PlugmtError(f"train.temperature={temperature} must be positive (1 = by size)")
        self.sources = sorted({s for s, _ in self.pairs})
        self.reach = {s: {t for src, t in self.pairs if src == s} for s in self.sources}
        self.two_sources = two_sources and len(self.sources) > 1
        labels = np.asarray(groups)
        self.rows = len(labels)
        self.group_rows, self.group_weights = by_group(labels, np.arange(len(labels)), temperature)
        self.shares = None if shares is None else dict(shares)
        if self.shares is not None:
            # every direction between two languages is drawn; identity directions ride along
            self.drawn = [pair for pair in self.pairs if pair[0] != pair[1]]
            self.share_groups = {
                share: by_group(labels, rows, temperature) for share, rows in self.shares.items()
            }
        # train.batch_tokens: a group's rows are split into bands of TOKEN_BAND tokens of their longest
        # text (any language), a band drawn by size within the drawn group, and a batch holds as many
        # of its rows as fit the budget at the band's longest text: little padding, few shapes, an
        # even cost per batch; batch i stays a function of (seed, i).
        self.batch_tokens = None if batch_tokens is None else int(batch_tokens)
        self._longest = self._lengths() if self.batch_tokens is not None else None
        self._bands: dict[tuple[Share | None, int], tuple[list[np.ndarray], np.ndarray]] = {}

    def _lengths(self) -> np.ndarray:
        """Every row's longest text in tokens, over the languages read and written."""
        longest = np.zeros(self.rows, dtype=np.int64)
        for ids in (*self.source_ids.values(), *self.target_ids.values()):
            longest = np.maximum(longest, np.count_nonzero(ids, axis=1))
        return np.maximum(longest, longest_variants(self.variants, self.rows))

    def rows_per_batch(self, group: np.ndarray) -> int:
        """How many rows a batch drawn from `group` (its row indices) holds."""
        if self.batch_tokens is None:
            return self.batch_size
        return max(1, self.batch_tokens // max(int(self._longest[group].max(initial=1)), 1))

    def band_rows(self, share: Share | None, group: int, rows: np.ndarray) -> tuple[list[np.ndarray], Any]:
        """Group number `group`'s `rows` split by the length of their longest text (TOKEN_BAND
        tokens a band), and each band's drawing weight (its share of the rows)."""
        key = (share, group)
        if key not in self._bands:
            labels = np.zeros(self.rows, dtype=np.int64)
            labels[rows] = self._longest[rows] // TOKEN_BAND
            self._bands[key] = by_group(labels, rows, 1.0)
        return self._bands[key]

    def expected_rows(self) -> float:
        """Rows per batch on average over the groups and bands as they are drawn (train.batch_size
        without train.batch_tokens)."""
        if self.batch_tokens is None:
            return float(self.batch_size)
        streams = {None: (self.group_rows, self.group_weights)} if not self.shares else self.share_groups
        per = []
        for share, (group_rows, group_weights) in streams.items():
            drawn = [
                (weight * band_weight, band)
                for number, (rows, weight) in enumerate(zip(group_rows, group_weights, strict=True))
                for band, band_weight in zip(*self.band_rows(share, number, rows), strict=True)
            ]
            per.append(sum(p * self.rows_per_batch(band) for p, band in drawn))
        return float(np.mean(per))

    def _partner(self, primary: str, rng: np.random.Generator) -> str:
        """The other source that reaches the most decoders the primary does not (ties: random)."""
        others = [s for s in self.sources if s != primary]
        gains = [len(self.reach[s] - self.reach[primary]) for s in others]
        best = [s for s, g in zip(others, gains, strict=True) if g == max(gains)]
        return best[rng.integers(len(best))]

    def _routes(self, languages: Sequence[str], share: Share | None = None) -> dict[str, int]:
        """decoder -> index of the source it reads in this batch (first source that reaches it);
        with a share, only decoders of the share's languages."""
        routes: dict[str, int] = {}
        for index, lang in enumerate(languages):
            for target in self.reach[lang]:
                if share is None or target in share:
                    routes.setdefault(target, index)
        return routes

    def _share_languages(self, pair: Pair) -> tuple[str, ...]:
        """What a batch of `pair`'s share reads: the pair's source, then its target when that is a
        source too (else the source twice, so the batch still has the stream's two sources)."""
        if not self.two_sources:
            return (pair[0],)
        return (pair[0], pair[1] if pair[1] in self.reach else pair[0])

    def rows_per_direction(self) -> int:
        """Training rows a direction may use, on average over the directions (all rows unless
        shares say otherwise): about `rows_per_direction() * len(pairs)` examples make an epoch."""
        if self.shares is None:
            return self.rows
        usable = [
            sum(len(rows) for share, rows in self.shares.items() if {src, tgt} <= set(share))
            for src, tgt in self.pairs
        ]
        return round(float(np.mean(usable)))

    def directions_per_batch(self) -> float:
        """Expected number of directions a batch trains (the primary is drawn per pair)."""
        if self.shares is not None:
            routes = [self._routes(self._share_languages(p), share_of(p)) for p in self.drawn]
            return float(np.mean([len(r) for r in routes]))
        total = 0.0
        for primary, _ in self.pairs:
            reach = self.reach[primary]
            if self.two_sources:
                others = [s for s in self.sources if s != primary]
                reach = reach | max((self.reach[s] - reach for s in others), key=len)
            total += len(reach)
        return total / len(self.pairs)

    def batch(self, index: int) -> Batch:
        """The stream's batch number `index`."""
        rng = np.random.default_rng([self.seed, index])
        if self.shares is None:
            share = None
            primary = self.pairs[rng.integers(len(self.pairs))][0]
            languages = (primary, self._partner(primary, rng)) if self.two_sources else (primary,)
            group_rows, group_weights = self.group_rows, self.group_weights
        else:
            pair = self.drawn[rng.integers(len(self.drawn))]
            share = share_of(pair)
            languages = self._share_languages(pair)
            group_rows, group_weights = self.share_groups[share]
        group = int(rng.choice(len(group_rows), p=group_weights))
        rows = group_rows[group]
        if self.batch_tokens is not None:
            bands, weights = self.band_rows(share, group, rows)
            rows = bands[rng.choice(len(bands), p=weights)]
        size = self.rows_per_batch(rows)
        chosen = rng.choice(rows, size=size, replace=len(rows) < size)
        read = read_sources(self.source_ids, self.variants, languages, chosen, [self.seed, index])
        sources = side_by_side([trim_padding(ids, self.length_multiple) for ids in read])
        routes = self._routes(languages, share)
        target_in, target_out, routed, directions = [], [], [], []
        for decoder in self.decoders:
            if decoder in routes:
                out = trim_padding(self.target_ids[decoder][chosen], self.length_multiple)
                bos = np.full((len(chosen), 1), BOS_ID, dtype=np.int32)
                target_in.append(np.concatenate([bos, out[:, :-1]], axis=1))
                target_out.append(out)
                routed.append(routes[decoder])
                directions.append((languages[routes[decoder]], decoder))
            else:  # idle: one all-padding column, which the masked loss ignores
                target_in.append(np.full((len(chosen), 1), BOS_ID, dtype=np.int32))
                target_out.append(np.zeros((len(chosen), 1), dtype=np.int32))
                routed.append(0)
        return Batch(
            languages=tuple(languages),
            sources=sources,
            target_in=tuple(target_in),
            target_out=tuple(target_out),
            source_index=np.asarray(routed, dtype=np.int32),
            directions=tuple(directions),
            agree=agreement_triple(self.pairs, self.decoders, languages, [self.seed, index, 1]),
        )
