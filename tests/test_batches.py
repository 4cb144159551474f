import numpy as np

from plugmt.corpora.batches import MultiTargetBatches
from plugmt.thought import BOS_ID, EOS_ID

PAIRS = [("en", "fr"), ("fr", "en"), ("en", "de"), ("de", "en")]


def ids(rows: int, width: int, fill: int) -> np.ndarray:
    out = np.zeros((rows, width + 3), dtype=np.int32)
    out[:, :width] = fill
    out[:, width] = EOS_ID
    return out


def make(two_sources: bool = True, seed: int = 0, pairs=PAIRS, decoders=("de", "en", "fr")):
    langs = {"en": 5, "fr": 6, "de": 7}
    source = {lang: ids(40, 4 + i, fill)[:, :-1] for i, (lang, fill) in enumerate(langs.items())}
    target = {lang: ids(40, 4 + i, fill) for i, (lang, fill) in enumerate(langs.items())}
    groups = ["a"] * 20 + ["b"] * 20
    return MultiTargetBatches(source, target, groups, pairs, list(decoders), 8, seed, two_sources)


def test_an_english_centric_batch_reaches_every_decoder_through_two_sources():
    batches = make()
    for _ in range(20):
        batch = next(batches)
        assert len(batch.languages) == 2 and batch.sources.shape[:2] == (2, 8)
        assert sorted(t for _, t in batch.directions) == ["de", "en", "fr"]
        assert all(d in PAIRS for d in batch.directions)
    assert batches.directions_per_batch() == 3


def test_decoders_read_the_source_of_their_trained_direction():
    batch = next(make())
    for (src, tgt), index in zip(batch.directions, batch.source_index, strict=True):
        assert batch.languages[index] == src and (src, tgt) in PAIRS


def test_targets_are_shifted_by_one_and_trimmed():
    batch = next(make())
    for target_in, target_out in zip(batch.target_in, batch.target_out, strict=True):
        assert (target_in[:, 0] == BOS_ID).all()
        np.testing.assert_array_equal(target_in[:, 1:], target_out[:, :-1])
        assert target_out[:, -1].any()  # no all-padding column left


def test_a_decoder_no_source_reaches_sits_the_batch_out():
    batches = make(two_sources=False, pairs=[("de", "en")], decoders=("en", "fr"))
    batch = next(batches)
    assert batch.languages == ("de",) and batch.directions == (("de", "en"),)
    assert batch.target_out[1].shape == (8, 1) and not batch.target_out[1].any()


def test_the_same_seed_draws_the_same_batches():
    a, b = make(seed=4), make(seed=4)
    for _ in range(5):
        x, y = next(a), next(b)
        np.testing.assert_array_equal(x.sources, y.sources)
        assert x.directions == y.directions


def _same(a, b) -> bool:
    arrays = zip((a.sources, *a.target_out), (b.sources, *b.target_out), strict=True)
    return a.languages == b.languages and all(np.array_equal(x, y) for x, y in arrays)


def test_the_stream_resumes_exactly_from_its_state():
    straight = make(seed=3)
    seen = [next(straight) for _ in range(7)]
    interrupted = make(seed=3)
    for _ in range(4):
        next(interrupted)
    resumed = make(seed=3)
    resumed.restore(interrupted.state())
    assert all(_same(next(resumed), batch) for batch in seen[4:])
    assert not _same(next(make(seed=4)), seen[0])


def test_temperature_flattens_group_sampling_toward_uniform():
    source = {"en": ids(100, 4, 5)[:, :-1], "fr": ids(100, 4, 6)[:, :-1]}
    target = {lang: ids(100, 4, 7) for lang in ("en", "fr")}
    groups = ["big"] * 90 + ["small"] * 10

    def weights(temperature: float) -> list[float]:
        batches = MultiTargetBatches(
            source, target, groups, [("en", "fr")], ["fr"], 8, 0, False, temperature=temperature
        )
        return [round(w, 3) for w in batches.group_weights]

    assert weights(1.0) == [0.9, 0.1]
    assert weights(1000.0)[1] > 0.49  # practically uniform
    assert 0.1 < weights(5.0)[1] < 0.5


def test_a_restored_stream_draws_the_batches_that_would_have_come():
    import json

    batches = make()
    for _ in range(3):
        next(batches)
    saved = json.loads(json.dumps(batches.state()))
    expected = [next(batches) for _ in range(4)]
    again = make(seed=99)
    again.restore(saved)
    for want, got in zip(expected, [next(again) for _ in range(4)], strict=True):
        assert want.languages == got.languages
        assert np.array_equal(want.sources, got.sources)
        assert all(np.array_equal(a, b) for a, b in zip(want.target_out, got.target_out, strict=True))


def test_a_token_budget_gives_short_groups_more_rows_and_keeps_batches_a_function_of_the_seed():
    # Group "a": rows 4-6 tokens long (+EOS: 7 at most); group "b": 16 tokens (+EOS: 17).
    source = {"en": np.zeros((40, 20), dtype=np.int32), "fr": np.zeros((40, 20), dtype=np.int32)}
    for lang, fill in (("en", 5), ("fr", 6)):
        source[lang][:20, :6] = fill
        source[lang][20:, :16] = fill
    target = {
        lang: np.concatenate([ids_, np.zeros((40, 1), np.int32)], axis=1) for lang, ids_ in source.items()
    }
    for rows in target.values():
        rows[np.arange(40), np.count_nonzero(rows, axis=1)] = EOS_ID
    groups = ["a"] * 20 + ["b"] * 20
    pairs = [("en", "fr"), ("fr", "en")]

    def stream(seed):
        return MultiTargetBatches(source, target, groups, pairs, ["en", "fr"], 8, seed, True, batch_tokens=70)

    batches = stream(1)
    sizes = set()
    for _ in range(30):
        batch = next(batches)
        rows, width = batch.sources.shape[1], max(batch.sources.shape[2], batch.target_out[0].shape[1])
        assert rows * width <= 70  # the budget holds at the batch's own longest text
        sizes.add(rows)
    assert sizes == {70 // 7, 70 // 17}  # 10 rows of the short group, 4 of the long one
    assert batches.expected_rows() == (10 + 4) / 2
    again = stream(1)
    for index in (0, 7, 29):
        assert _same(batches.batch(index), again.batch(index))


def test_a_token_budget_draws_each_batch_from_one_length_band_of_its_group():
    """One group whose rows are 2, 3, 10 or 11 tokens long: with train.batch_tokens a batch holds rows
    within TOKEN_BAND tokens of each other (not 2 beside 11), and expected_rows is what it draws."""
    from plugmt.corpora.batches import TOKEN_BAND

    lengths = np.array([2, 3, 10, 11] * 25)
    source = {lang: np.zeros((100, 12), dtype=np.int32) for lang in ("en", "fr")}
    for ids in source.values():
        for row, n in enumerate(lengths):
            ids[row, :n] = 7
    target = {lang: ids.copy() for lang, ids in source.items()}
    batches = MultiTargetBatches(
        source, target, ["one"] * 100, [("en", "fr"), ("fr", "en")], ["en", "fr"], 8, 0, True, batch_tokens=48
    )
    drawn = []
    for index in range(400):
        batch = batches.batch(index)
        longest = np.count_nonzero(batch.sources[0], axis=1)
        assert longest.max() - longest.min() < TOKEN_BAND, longest
        drawn.append(len(longest))
    assert set(drawn) == {48 // 3, 48 // 11}
    assert batches.expected_rows() == (48 // 3 + 48 // 11) / 2
    assert abs(np.mean(drawn) - batches.expected_rows()) < 1.0
