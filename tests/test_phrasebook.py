from collections import defaultdict

import pytest

import plugmt.corpora.corpus as corpus_module
from plugmt.corpora.corpus import load_corpus
from plugmt.corpora.phrasebook import PhrasebookSettings, generate, normalise
from plugmt.errors import PlugmtError

SMALL = PhrasebookSettings(first_year=1999, last_year=2001)


def test_generation_is_deterministic():
    assert generate(SMALL) == generate(SMALL)


def test_no_test_string_is_seen_in_training_in_any_language():
    columns = generate(SMALL)
    langs = [lang for lang in SMALL.languages if lang != "iso"]
    for lang in langs:
        training = {t for t, s in zip(columns[lang], columns["split"], strict=True) if s == "train"}
        held_out = {t for t, s in zip(columns[lang], columns["split"], strict=True) if s == "test"}
        assert held_out and not (held_out & training), lang
    # and no held-out *date* appears in training in any style
    dates = defaultdict(set)
    for meaning, split in zip(columns["meaning"], columns["split"], strict=True):
        dates[meaning.split(":")[1]].add(split)
    assert all(len(splits) == 1 for splits in dates.values())


def test_every_string_has_exactly_one_meaning():
    columns = generate(SMALL)
    for lang in (lang for lang in SMALL.languages if lang != "iso"):
        assert len(set(columns[lang])) == len(columns[lang]), lang


def test_all_three_splits_are_populated_roughly_as_asked():
    splits = generate(SMALL)["split"]
    share = splits.count("test") / len(splits)
    assert 0.02 < share < 0.1
    assert splits.count("valid") > 0


def test_exotic_spaces_and_direction_marks_are_normalised():
    assert normalise("5\u202fг.\u200f x\u00a0y") == "5 г. x y"


def test_known_renderings():
    columns = generate(PhrasebookSettings(first_year=2026, last_year=2026, families=["date_full"]))
    i = columns["iso"].index("2026-05-05")
    assert columns["en"][i] == "Tuesday, May 5, 2026"
    assert columns["de"][i] == "Dienstag, 5. Mai 2026"
    assert columns["es"][i] == "martes, 5 de mayo de 2026"


def test_unknown_family_is_named():
    with pytest.raises(PlugmtError, match="unknown phrasebook family 'haiku'; known: date_full"):
        generate(PhrasebookSettings(families=["haiku"]))


def test_unknown_locale_is_named():
    with pytest.raises(PlugmtError, match="phrasebook language 'xx' is not a CLDR locale"):
        generate(PhrasebookSettings(languages=["en", "xx"], first_year=2000, last_year=2000))


def test_corpus_is_cached_and_not_regenerated(tmp_path):
    settings = {"name": "phrasebook", "cache_dir": str(tmp_path), "first_year": 2000, "last_year": 2000}
    before = corpus_module.generation_count
    first = load_corpus(settings)
    assert corpus_module.generation_count == before + 1
    second = load_corpus(settings)
    assert corpus_module.generation_count == before + 1
    assert first.texts("train", "fr") == second.texts("train", "fr")
    assert [p.name for p in tmp_path.iterdir()] == [next(tmp_path.iterdir()).name]  # one folder, no temp


def test_asking_for_a_language_the_corpus_lacks_is_explained(tmp_path):
    corpus = load_corpus(
        {
            "name": "phrasebook",
            "cache_dir": str(tmp_path),
            "languages": ["en", "fr"],
            "first_year": 2000,
            "last_year": 2000,
        }
    )
    with pytest.raises(PlugmtError, match="has no language 'cs'; it has: en, fr"):
        corpus.texts("train", "cs")
