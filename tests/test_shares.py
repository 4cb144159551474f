"""data.disjoint_pairs: each language pair trains on a share of the meanings no other pair sees."""

import hashlib
import re
from collections import defaultdict

import numpy as np
import pytest

from plugmt.corpora.batches import MultiTargetBatches
from plugmt.corpora.shares import pair_shares, training_shares
from plugmt.errors import PlugmtError

OTHERS = ("fr", "de", "pt")
CENTRIC = [p for lang in OTHERS for p in (("en", lang), (lang, "en"))]
IDENTITY = [(lang, lang) for lang in ("en", *OTHERS)]
KEYS = [f"date_full:{day}" for day in range(600)]
CODES = {"en": 5, "fr": 6, "de": 7, "pt": 8}


def test_shares_are_disjoint_and_cover_every_training_row():
    shares = pair_shares(KEYS, CENTRIC + IDENTITY, 8)
    assert set(shares) == {("en", "fr"), ("de", "en"), ("en", "pt")}  # one per pair; fr-fr has none
    rows = sorted(np.concatenate(list(shares.values())).tolist())
    assert rows == list(range(len(KEYS)))  # every row once: disjoint, and nothing left out
    assert all(150 < len(r) < 250 for r in shares.values())  # about a third each
    # by key, not by position: the same meanings in another order fall in the same shares
    backwards = pair_shares(KEYS[::-1], CENTRIC, 8)
    for share, rows in shares.items():
        assert {KEYS[i] for i in rows} == {KEYS[::-1][i] for i in backwards[share]}


def test_one_pair_trains_on_every_row_and_the_option_is_off_by_default():
    assert list(pair_shares(KEYS, [("pt", "es")], 8)) == [("es", "pt")]
    assert len(pair_shares(KEYS, [("pt", "es")], 8)[("es", "pt")]) == len(KEYS)
    assert training_shares({}, KEYS, CENTRIC, 8) is None
    assert training_shares({"disjoint_pairs": False}, KEYS, CENTRIC, 8) is None
    asked = training_shares({"disjoint_pairs": True}, KEYS, CENTRIC, 8)
    assert set(asked) == set(pair_shares(KEYS, CENTRIC, 8))


def _stream(pairs: list, shares: dict, two_sources: bool, seed: int = 0) -> MultiTargetBatches:
    """Every row's ids are (row number + 1, language code): a batch shows which rows it read."""
    n = len(KEYS)
    ids = {lang: np.stack([np.arange(1, n + 1), np.full(n, code)], axis=1) for lang, code in CODES.items()}
    groups = ["a" if i % 3 else "b" for i in range(n)]  # two groups, as families are
    decoders = sorted({t for _, t in pairs})
    return MultiTargetBatches(
        ids, ids, groups, pairs, decoders, 16, seed, two_sources, temperature=2.0, shares=shares
    )


@pytest.mark.parametrize("two_sources", [True, False])
def test_every_batch_trains_each_direction_on_its_own_share_only(two_sources):
    pairs = CENTRIC + IDENTITY
    shares = pair_shares(KEYS, pairs, 16)
    owner = {int(row): set(share) for share, rows in shares.items() for row in rows}
    batches = _stream(pairs, shares, two_sources)
    trained = defaultdict(int)
    for _ in range(300):
        batch = next(batches)
        rows = batch.sources[0, :, 0] - 1
        for k, lang in enumerate(batch.languages):  # every source reads the same rows, in its language
            np.testing.assert_array_equal(batch.sources[k, :, 0] - 1, rows)
            assert (batch.sources[k, :, 1] == CODES[lang]).all()
        # the sources are one share's languages, so aligning their thoughts uses that share alone
        assert all(set(batch.languages) <= owner[row] for row in rows), batch.languages
        for (src, tgt), target_out in zip(
            batch.directions, [t for t in batch.target_out if t.shape[1] > 1], strict=True
        ):
            assert all({src, tgt} <= owner[row] for row in rows), (src, tgt)
            np.testing.assert_array_equal(target_out[:, 0] - 1, rows)
            trained[src, tgt] += 1
    assert set(trained) == set(pairs)  # and every direction does train
    assert batches.rows_per_direction() < len(KEYS) / 2  # an epoch is over the shares, not all rows


def test_without_shares_the_stream_is_the_one_before_disjoint_pairs_existed():
    batches = _stream(CENTRIC + IDENTITY, None, True)
    digest = hashlib.sha256()
    for _ in range(50):
        batch = next(batches)
        digest.update(batch.sources.tobytes())
        digest.update(repr(batch.directions).encode())
        for target_out in batch.target_out:
            digest.update(target_out.tobytes())
    # what the stream drew before `shares` was added (same seed, rows and pairs)
    assert digest.hexdigest() == "767110bce40a5d79670f700951bd2997eeaac75c3fde8a9d945492306d1f556f"
    assert batches.rows_per_direction() == len(KEYS) and batches.directions_per_batch() == 4


def test_too_few_meanings_for_the_pairs_is_one_line_naming_the_numbers_and_the_fix():
    with pytest.raises(PlugmtError) as error:
        pair_shares(KEYS[:60], CENTRIC, 32)
    message = str(error.value)
    assert "\n" not in message
    assert re.fullmatch(
        r"data\.disjoint_pairs=true gives each of the 3 language pairs \(de-en, en-fr, en-pt\) its own "
        r"share of the 60 training meanings, and (de-en|en-fr|en-pt) gets \d+, fewer than one batch "
        r"\(train\.batch_size=32\); use more training meanings, fewer data\.pairs, a smaller "
        r"train\.batch_size, or data\.disjoint_pairs=false",
        message,
    ), message
    with pytest.raises(PlugmtError, match=r"share of the 0 training meanings, and de-en gets 0, fewer"):
        pair_shares([], CENTRIC, 1)
