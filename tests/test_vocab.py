from plugmt.corpora.vocab import EOS_ID, Vocab


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
