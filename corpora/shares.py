"""`data.disjoint_pairs`: each language pair trains on meanings of its own, as in real corpora.

The phrasebook (and any multi-way parallel corpus) gives every language pair the same meanings, so
pairs never trained together still share a signal: en-fr and en-de learn from the same dates, which
real English-centric corpora (separate en-fr and en-de collections) never offer. With
`data.disjoint_pairs=true` the training rows are partitioned, by a hash of each row's key (the
phrasebook's meaning, else the row's number), into one share per unordered language pair of the
stage's directions (identity directions such as fr->fr aside). A direction trains only on rows whose
share holds both its languages: en->fr and fr->en on the en-fr share, fr->fr on every share with fr
(the en-fr share alone when pairs are English-centric), en->en on all of them. A batch reads the two
languages of one share, so the alignment loss only pulls together thoughts of meanings both of its
languages may use. A stage with one pair (a plug-in such as pt-es) has one share: every row.
Validation and test splits are untouched.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from plugmt.corpora.pairs import Pair, pair_name
from plugmt.errors import PlugmtError

Share = tuple[str, str]  # an unordered language pair, sorted

log = logging.getLogger("plugmt.data")


def share_of(pair: Pair) -> Share:
    """The share a (non-identity) direction trains on: its two languages, sorted."""
    return (min(pair), max(pair))


def pair_shares(keys: Sequence[str], pairs: Sequence[Pair], batch_size: int) -> dict[Share, np.ndarray]:
    """Row indices per share, disjoint and covering every row; refused when a share is under a batch."""
    shares = sorted({share_of(pair) for pair in pairs if pair[0] != pair[1]})
    if not shares:
        raise PlugmtError("data.disjoint_pairs=true needs at least one direction between two languages")
    slot = np.fromiter(
        (int.from_bytes(hashlib.sha256(f"share:{key}".encode()).digest()[:8], "big") for key in keys),
        dtype=np.uint64,
        count=len(keys),
    ) % np.uint64(len(shares))
    rows = {share: np.flatnonzero(slot == i) for i, share in enumerate(shares)}
    smallest = min(shares, key=lambda share: len(rows[share]))
    if len(rows[smallest]) < batch_size:
        raise PlugmtError(
            f"data.disjoint_pairs=true gives each of the {len(shares)} language pairs "
            f"({', '.join(map(pair_name, shares))}) its own share of the {len(keys)} training meanings, "
            f"and {pair_name(smallest)} gets {len(rows[smallest])}, fewer than one batch "
            f"(train.batch_size={batch_size}); use more training meanings, fewer data.pairs, a smaller "
            "train.batch_size, or data.disjoint_pairs=false"
        )
    sizes = ", ".join(f"{pair_name(share)} {len(rows[share])}" for share in shares)
    noun = "share" if len(shares) == 1 else "shares"
    log.info(f"data.disjoint_pairs: {len(keys)} training meanings in {len(shares)} {noun} ({sizes})")
    return rows


def training_shares(
    data: Mapping[str, Any], keys: Sequence[str], pairs: Sequence[Pair], batch_size: int
) -> dict[Share, np.ndarray] | None:
    """The shares `MultiTargetBatches` draws from, or None (every direction on every row) unless the
    `data:` config says `disjoint_pairs: true`."""
    if not data.get("disjoint_pairs"):
        return None
    return pair_shares(keys, pairs, batch_size)
