import pytest

from plugmt.corpora.pairs import parse_pairs, path_decoder, pivot_path
from plugmt.errors import PlugmtError

LANGS = ["en", "fr", "de", "pt", "es", "iso"]


def test_explicit_pairs_parse_in_order_without_duplicates():
    assert parse_pairs(["en-fr", "fr-en", "en-fr"], LANGS) == [("en", "fr"), ("fr", "en")]


def test_english_centric_pairs_every_natural_language_with_english():
    pairs = parse_pairs("english_centric", LANGS, target_only=["iso"])
    assert ("en", "de") in pairs and ("de", "en") in pairs
    assert not any("iso" in p for p in pairs)
    assert len(pairs) == 8


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (["en-xx"], "unknown language 'xx' in data.pairs entry 'en-xx'; known languages: en, fr"),
        (["enfr"], "is not of the form src-tgt"),
        (["iso-en"], "target-only pseudo-language"),
        (["en-en"], "translates a language into itself"),
        ([], "data.pairs is empty"),
    ],
)
def test_bad_pairs_are_explained(spec, message):
    with pytest.raises(PlugmtError, match=message):
        parse_pairs(spec, LANGS, target_only=["iso"])


def test_pivot_takes_the_fewest_hops_through_trained_directions():
    edges = [("en", "fr"), ("fr", "en"), ("en", "de"), ("de", "en"), ("pt", "es"), ("en", "pt")]
    assert pivot_path("fr", "de", edges) == ["fr", "en", "de"]
    assert pivot_path("de", "es", edges) == ["de", "en", "pt", "es"]
    assert pivot_path("en", "fr", edges) == ["en", "fr"]
    assert pivot_path("es", "en", edges) is None


def test_pivot_breaks_ties_alphabetically():
    edges = [("a", "x"), ("a", "b"), ("b", "z"), ("x", "z")]
    assert pivot_path("a", "z", edges) == ["a", "b", "z"]


def test_a_path_is_decoded_hop_by_hop_and_each_hop_once():
    calls = []

    def first(src, tgt):
        calls.append((src, tgt))
        return [f"{src}>{tgt}"]

    def then(tgt, texts):
        calls.append((tgt,))
        return [f"{t}>{tgt}" for t in texts]

    decoded = {}
    along = path_decoder(first, then, decoded)
    assert along(["de", "en"]) == ["de>en"]
    assert along(["de", "en", "fr"]) == ["de>en>fr"]  # the pivot starts from the cell's own output
    assert along(["de", "en", "fr"]) == ["de>en>fr"]
    assert calls == [("de", "en"), ("fr",)]
    assert list(decoded) == [("de", "en"), ("de", "en", "fr")]
    with pytest.raises(ValueError, match="a source and a target"):
        along(["de"])


def test_zero_shot_holds_directions_out_of_the_training_set():
    pairs = parse_pairs("all", ["en", "de", "fr"], zero_shot=["de-fr", "fr-de"])
    assert ("de", "fr") not in pairs and ("fr", "de") not in pairs and len(pairs) == 4


@pytest.mark.parametrize(
    ("zero_shot", "message"),
    [(["de-fr"], "not among the directions"), (["en-de", "de-en"], "nothing is left")],
)
def test_zero_shot_mistakes_are_explained(zero_shot, message):
    with pytest.raises(PlugmtError, match=message):
        parse_pairs(["en-de", "de-en"], ["en", "de", "fr"], zero_shot=zero_shot)
