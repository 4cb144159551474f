from plugmt.corpora.vocab import Vocab
from plugmt.thought import EOS_ID


def test_char_vocabulary_round_trips_text_exactly():
    vocab = Vocab.train(["5. Mai 2026", "Tuesday, May 5, 2026"])
    for text in ["May 5, 2026", "5. Mai 2026", "a  b"[:1]]:
        assert vocab.decode(vocab.encode([text])) == [text]


def test_unseen_characters_become_unknown_pieces_not_errors():
    vocab = Vocab.train(["abc"])
    ids = vocab.encode(["aé"])[0]
    assert ids[1] == 1  # unk
    assert vocab.decode([ids])[0].startswith("a")


def test_decoding_stops_at_end_of_sentence():
    vocab = Vocab.train(["abc"])
    ids = vocab.encode(["ab"])[0]
    assert vocab.decode([[*ids, EOS_ID, *ids]]) == ["ab"]


def test_padded_encoding_is_as_wide_as_the_longest_row():
    vocab = Vocab.train(["abc"])
    padded = vocab.encode_padded(["a", "abc"], add_eos=True)
    assert padded.shape == (2, 4)
    assert padded[0, 1] == EOS_ID and padded[0, 2] == 0


def test_a_vocabulary_larger_than_the_text_supports_says_what_to_set():
    import pytest

    from plugmt.errors import PlugmtError

    with pytest.raises(PlugmtError, match=r"data.vocab_size=500 .* set data.vocab_size<=\d+"):
        Vocab.train(["hello world", "foo bar baz"] * 10, "unigram", 500)


def test_a_vocabulary_is_trained_once_per_text_and_settings(tmp_path, monkeypatch):
    calls = []
    real = Vocab.train.__func__

    def counting(cls, texts, model_type="char", *settings):
        calls.append(model_type)
        return real(cls, texts, model_type, *settings)

    monkeypatch.setattr(Vocab, "train", classmethod(counting))
    first = Vocab.cached(["abc", "abd"], "char", 100, tmp_path)
    again = Vocab.cached(["abc", "abd"], "char", 100, tmp_path)
    other = Vocab.cached(["abc", "xyz"], "char", 100, tmp_path)
    isolated = Vocab.cached(["12.02.1950", "03.02.1951"] * 40, "bpe", 100, tmp_path, isolate=".")
    merged = Vocab.cached(["12.02.1950", "03.02.1951"] * 40, "bpe", 100, tmp_path)
    assert calls == ["char", "char", "bpe", "bpe"]  # a cache hit, other text and other settings train
    assert again.model_bytes == first.model_bytes and other.size > first.size
    assert isolated._sp.encode("12.02.1950", out_type=str) != merged._sp.encode("12.02.1950", out_type=str)
    assert not [p for p in (tmp_path / "vocab").iterdir() if p.name.startswith(".")]


def test_split_digits_makes_a_number_the_same_pieces_in_every_format():
    texts = ["12.02.1950", "Jan 12, 1950", "12 févr. 1950", "Feb 3, 1951", "03.02.1951"] * 40
    plain = Vocab.train(texts, "bpe", 60)
    split = Vocab.train(texts, "bpe", 60, split_digits=True)

    def year_pieces(vocab: Vocab, text: str) -> list[str]:
        pieces = vocab._sp.encode(text, out_type=str)
        return [p.lstrip("▁") for p in pieces][-4:]

    assert year_pieces(split, "12.02.1950") == year_pieces(split, "Jan 12, 1950") == ["1", "9", "5", "0"]
    assert plain._sp.encode("12.02.1950", out_type=str) != split._sp.encode("12.02.1950", out_type=str)
    assert split.decode(split.encode(["12.02.1950"])) == ["12.02.1950"]


def test_isolate_keeps_a_character_out_of_every_other_piece():
    texts = ["12.02.1950", "Jan 12, 1950", "12 févr. 1950", "Feb 3, 1951", "03.02.1951"] * 40
    plain = Vocab.train(texts, "bpe", 60)
    isolated = Vocab.train(texts, "bpe", 60, isolate=".")
    assert any("." in p and p != "." for p in plain._sp.encode("12.02.1950", out_type=str))
    assert isolated._sp.encode("12.02.1950", out_type=str) == ["12", ".", "02", ".", "1950"]
    assert isolated.decode(isolated.encode(["12 févr. 1950"])) == ["12 févr. 1950"]


def test_an_isolated_space_makes_a_year_one_piece_with_or_without_a_space_before_it():
    # Japanese writes no space before a year (1950年5月5日): with word boundaries inside pieces the
    # encoder reads its years in pieces no other language uses ("195" "0" against "▁1950").
    texts = ["May 5, 1950", "1950年5月5日", "June 12, 1951", "1951年6月12日", "5. Mai 1950"] * 40
    plain = Vocab.train(texts, "bpe", 60)
    spaced = Vocab.train(texts, "bpe", 60, isolate=". ")
    assert "1950" not in plain._sp.encode("May 5, 1950", out_type=str)
    english, japanese = (spaced._sp.encode(t, out_type=str) for t in ("May 5, 1950", "1950年5月5日"))
    assert english[-1] == japanese[0] == "1950" and english[-2] == "\u2581"
    assert spaced.decode(spaced.encode(["May 5, 1950", "5. Mai 1950"])) == ["May 5, 1950", "5. Mai 1950"]


def test_a_vocabulary_smaller_than_the_characters_it_must_hold_says_how_large_it_must_be():
    import pytest

    from plugmt.errors import PlugmtError

    texts = ["".join(chr(0x4E00 + i + j) for j in range(5)) for i in range(0, 300, 5)] * 3
    needed = r"cannot hold every character .*: 304 are needed; .* to at least 304$"  # 300 + 4 special
    with pytest.raises(PlugmtError, match=needed):
        Vocab.train(texts, "bpe", 100)
