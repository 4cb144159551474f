"""train.source_variants: a source read, some of the time, in another rendering of the same meaning."""

import datetime as dt
import re

import numpy as np
import pytest
from babel import Locale

from plugmt.corpora.batches import MultiTargetBatches
from plugmt.corpora.families import FAMILIES
from plugmt.corpora.families.registry import Years
from plugmt.corpora.phrasebook import normalise
from plugmt.corpora.variants import (
    check_source_variants,
    encode_variants,
    read_variants,
    source_variant_ids,
    variant_texts,
)
from plugmt.errors import PlugmtError

RANGES = [
    "date_range:1976-02-07/1977-03-13",
    "date_range:1976-02-07/1976-03-13",
    "date_range:1976-02-07/1976-02-13",
]


def test_a_range_is_read_with_its_months_in_full_and_both_dates_whole():
    texts = variant_texts([*RANGES, "date_full:1976-02-07"], ["date_range"] * 3 + ["date_full"], "en")
    assert texts == [
        ["February 7, 1976 – March 13, 1977"],  # across a year both dates are whole already
        ["February 7 – March 13, 1976", "Feb 7, 1976 – Mar 13, 1976", "February 7, 1976 – March 13, 1976"],
        ["February 7 – 13, 1976", "Feb 7, 1976 – Feb 13, 1976", "February 7, 1976 – February 13, 1976"],
        [],  # a family without variants
    ]
    assert variant_texts(RANGES[1:2], ["date_range"], "fr") == [
        ["7 février – 13 mars 1976", "7 févr. 1976 – 13 mars 1976", "7 février 1976 – 13 mars 1976"]
    ]
    # Arabic has no short month names: only the shape with both dates whole differs
    assert variant_texts(RANGES[1:2], ["date_range"], "ar") == [["7 فبراير 1976 – 13 مارس 1976"]]


@pytest.mark.parametrize("lang", ["en", "fr", "de", "ru", "ja", "ar", "tr", "sv"])
def test_no_variant_is_the_rows_own_rendering_or_another_variant(lang):
    family = FAMILIES["date_range"]
    meanings = family.meanings(Years(2000, 2001))[::7]
    render = family.renderer(Locale.parse(lang))
    texts = variant_texts([f"date_range:{key}" for key, _ in meanings], ["date_range"] * len(meanings), lang)
    assert sum(map(len, texts)) > len(meanings) / 2
    for (_, value), variants in zip(meanings, texts, strict=True):
        assert normalise(render(value)) not in variants
        assert len(set(variants)) == len(variants)
        start, end = value
        said = {str(n) for n in (start.day, end.day, start.year, end.year, start.month, end.month)}
        for text in variants:  # the range's days and years, and no other number
            numbers = set(re.findall(r"\d+", text))
            assert {str(start.day), str(end.day), str(end.year)} <= numbers <= said


def table(count: list[int], rows: int = 6, width: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Row r's variant j is filled with 10 * (j + 1) + r."""
    stack = np.stack(
        [np.full((rows, width), 10 * (j + 1), dtype=np.int32) + np.arange(rows)[:, None] for j in range(3)]
    )
    return np.array(count), stack


def test_rate_zero_reads_the_rows_own_ids_and_rate_one_a_variant_of_its_own():
    count, stack = table([0, 1, 2, 3, 0, 3])
    own = np.ones((6, 3), dtype=np.int32)
    chosen = np.arange(6)
    np.testing.assert_array_equal(read_variants(own, chosen, (0.0, count, stack), [0, 0]), own)
    for seed in range(10):
        read = read_variants(own, chosen, (1.0, count, stack), [seed, 3])
        for row in range(6):
            if count[row] == 0:
                np.testing.assert_array_equal(read[row], own[row])
            else:  # one of the row's own variants, never a padding layer past its count
                assert read[row, 0] in [10 * (j + 1) + row for j in range(count[row])]


def test_variants_are_drawn_at_the_rate_uniformly_and_as_a_function_of_the_seed():
    rows = 20000
    count, stack = table([3] * rows, rows=rows)
    own = np.zeros((rows, 3), dtype=np.int32)
    chosen = np.arange(rows)
    read = read_variants(own, chosen, (0.25, count, stack), [1, 7])
    layer = np.where(read[:, 0] > 0, (read[:, 0] - chosen) // 10, 0)
    assert abs((layer > 0).mean() - 0.25) < 0.02
    shares = np.bincount(layer[layer > 0], minlength=4)[1:] / (layer > 0).sum()
    assert np.all(np.abs(shares - 1 / 3) < 0.03)
    np.testing.assert_array_equal(read, read_variants(own, chosen, (0.25, count, stack), [1, 7]))
    assert not np.array_equal(read, read_variants(own, chosen, (0.25, count, stack), [1, 8]))


def test_encoding_pads_the_rows_and_their_variants_to_one_width():
    def encode(texts: list[str]) -> np.ndarray:
        width = max(len(t) for t in texts)
        return np.array([[1] * len(t) + [0] * (width - len(t)) for t in texts], dtype=np.int32)

    own, stack, count = encode_variants(
        [["abcdef"], [], ["ab", "abc"]], encode(["abc", "abcd", "ab"]), encode
    )
    assert own.shape == (3, 6) and stack.shape == (2, 3, 6)
    assert count.tolist() == [1, 0, 2]
    assert own[1].tolist() == [1, 1, 1, 1, 0, 0] and stack[0, 0].sum() == 6 and stack[1, 2].sum() == 3


class FakeCorpus:
    def __init__(self) -> None:
        self.languages = ["en", "fr", "iso"]

    def groups(self, split: str) -> list[str]:
        return ["date_range", "date_full", "date_range"]

    def keys(self, split: str) -> list[str]:
        return [RANGES[1], "date_full:1976-02-07", RANGES[0]]


def encode_words(texts: list[str]) -> np.ndarray:
    words = [t.split() for t in texts]
    width = max(1, *map(len, words))
    return np.array([[len(w) + 3 for w in ws] + [0] * (width - len(ws)) for ws in words], dtype=np.int32)


def test_only_the_sources_named_get_variants_and_only_rows_of_families_with_some():
    source_ids = {"en": encode_words(["Feb 7 – Mar 13, 1976", "x", "y"]), "fr": encode_words(["a", "b", "c"])}
    fr_before = source_ids["fr"].copy()
    variants = source_variant_ids(FakeCorpus(), ["en"], 0.5, source_ids, encode_words)
    assert list(variants) == ["en"]
    rate, count, stack = variants["en"]
    assert rate == 0.5 and count.tolist() == [3, 0, 1]
    assert stack.shape[2] == source_ids["en"].shape[1]  # the rows were padded to the variants' width
    np.testing.assert_array_equal(source_ids["fr"], fr_before)
    assert source_variant_ids(FakeCorpus(), [], 0.5, source_ids, encode_words) == {}


def test_a_batch_with_variants_trains_the_same_rows_and_targets_and_reads_other_sources():
    rows = 40
    source = {"en": np.full((rows, 4), 5, dtype=np.int32), "fr": np.full((rows, 4), 6, dtype=np.int32)}
    target = {lang: np.full((rows, 3), 7, dtype=np.int32) for lang in ("en", "fr")}
    stack = np.full((1, rows, 4), 9, dtype=np.int32)
    count = np.array([1, 0] * (rows // 2))
    pairs = [("en", "fr"), ("fr", "en")]

    def stream(variants=None) -> MultiTargetBatches:
        return MultiTargetBatches(
            source, target, ["g"] * rows, pairs, ["en", "fr"], 8, 3, True, variants=variants
        )

    plain, varied, again = stream(), stream({"en": (1.0, count, stack)}), stream({"en": (1.0, count, stack)})
    swapped = 0
    for i in range(30):
        a, b = plain.batch(i), varied.batch(i)
        assert a.languages == b.languages and a.directions == b.directions
        for x, y in zip(a.target_out, b.target_out, strict=True):
            np.testing.assert_array_equal(x, y)
        k = b.languages.index("en")
        np.testing.assert_array_equal(b.sources[1 - k], a.sources[1 - k])  # fr reads its own text
        assert set(np.unique(b.sources[k])) <= {5, 9}
        swapped += int((b.sources[k] == 9).any(axis=1).sum())
        np.testing.assert_array_equal(b.sources, again.batch(i).sources)
    assert swapped > 0


def test_variants_asked_of_the_wrong_corpus_or_language_or_at_a_wrong_rate_are_refused():
    data = {"name": "phrasebook", "languages": ["en", "fr", "iso"], "families": ["date_long", "date_range"]}
    check_source_variants(["en"], 0.5, data)
    check_source_variants([], 7, {"name": "files"})  # off: nothing to check
    with pytest.raises(PlugmtError, match="names 'iso', a target-only pseudo-language"):
        check_source_variants(["iso"], 0.5, data)
    with pytest.raises(PlugmtError, match="names 'de', which the corpus does not have"):
        check_source_variants(["de"], 0.5, data)
    with pytest.raises(PlugmtError, match=r"train\.variant_rate=1\.5 .* a number from 0 to 1"):
        check_source_variants(["en"], 1.5, data)
    with pytest.raises(PlugmtError, match="no family of this corpus has any: add date_range"):
        check_source_variants(["en"], 0.5, {**data, "families": ["date_long"]})
    with pytest.raises(PlugmtError, match=r"data\.name=files has no meanings"):
        check_source_variants(["en"], 0.5, {"name": "files"})


def test_a_variant_says_the_same_range():
    family = FAMILIES["date_range"]
    start, end = dt.date(1999, 12, 30), dt.date(2000, 1, 2)
    [[text]] = variant_texts([f"date_range:{start}/{end}"], ["date_range"], "de")
    assert normalise(family.renderer(Locale.parse("de"))((start, end))) == "30. Dez. 1999 – 2. Jan. 2000"
    assert text == "30. Dezember 1999 – 2. Januar 2000"


def test_a_token_budget_counts_a_rows_longest_variant():
    rows = 10
    source, target = (
        {"en": np.full((rows, 2), 5, dtype=np.int32)},
        {"fr": np.full((rows, 2), 7, dtype=np.int32)},
    )
    variants = {"en": (1.0, np.ones(rows, dtype=np.int64), np.full((1, rows, 8), 9, dtype=np.int32))}
    stream = MultiTargetBatches(
        source, target, ["g"] * rows, [("en", "fr")], ["fr"], 8, 0, False, batch_tokens=16
    )
    assert stream.rows_per_batch(np.arange(rows)) == 8
    stream = MultiTargetBatches(
        source, target, ["g"] * rows, [("en", "fr")], ["fr"], 8, 0, False, batch_tokens=16, variants=variants
    )
    assert stream.rows_per_batch(np.arange(rows)) == 2  # 8 tokens a row when read in its variant
