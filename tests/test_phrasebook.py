import hashlib
import itertools
import json
import re
import time
import unicodedata
from collections import defaultdict

import pytest

from plugmt.corpora.corpus import load_corpus
from plugmt.corpora.families import FAMILIES
from plugmt.corpora.phrasebook import PhrasebookSettings, generate, normalise, settings_from, split_of
from plugmt.corpora.variants import variant_texts
from plugmt.errors import PlugmtError

SMALL = PhrasebookSettings(first_year=1999, last_year=2001)


def test_generation_is_deterministic():
    assert generate(SMALL) == generate(SMALL)


# Where a meaning may sit inside a string: from a token's start to a token's end, a token being a number
# (12.50 and 2,5 are one: "50 euros" is not inside "12.50 euros"), a word, one Japanese character or any
# other non-space character. A piece is a token with the spaces after it, so pieces tile a text.
_NO_SPACES = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
_PIECE = re.compile(rf"(?:\d+(?:[.,]\d+)*|[{_NO_SPACES}]|[^\W\d_{_NO_SPACES}]+|.)\s*", re.S)


def _inside(held_out: set[str], training: list[str]) -> list[tuple[str, str]]:
    """(held-out, training string) for every held-out string that is a training string or sits in one.

    One pass over the training strings joined by newlines: from each piece that starts a held-out
    string, pieces are added while the text so far (less its trailing spaces) starts one (every
    held-out string's beginnings are in a set), and every held-out string met on the way is a finding.
    """
    beginnings = set()
    for text in held_out:
        ends = itertools.accumulate(map(len, _PIECE.findall(text)))
        beginnings.update(text[:end].rstrip() for end in ends)
    joined = "\n".join(training)
    pieces = _PIECE.findall(joined)
    ends = list(itertools.accumulate(map(len, pieces)))
    found = []
    for i in [i for i, piece in enumerate(pieces) if piece.rstrip() in beginnings]:
        start = ends[i] - len(pieces[i])
        for j in range(i, len(ends)):
            part = joined[start : ends[j]].rstrip()
            if part not in beginnings:
                break
            if part in held_out:
                after = joined.find("\n", start)
                found.append((part, joined[joined.rfind("\n", 0, start) + 1 : after if after >= 0 else None]))
    return found


def _leaks(columns: dict[str, list[str]], kept_apart: set[str]) -> dict[str, list[tuple[str, str]]]:
    """Per language: valid/test strings that are training strings, or, for the `kept_apart` families,
    are inside one."""
    languages = [name for name in columns if name not in ("meaning", "group", "split")]
    found = {}
    for lang in languages:
        rows = list(zip(columns[lang], columns["split"], columns["group"], strict=True))
        training = [text for text, split, _ in rows if split == "train"]
        held_out = {text for text, split, group in rows if split != "train" and group in kept_apart}
        wholes = {text for text, split, group in rows if split != "train" and group not in kept_apart}
        leaks = [(text, text) for text in wholes.intersection(training)] + _inside(held_out, training)
        if leaks:
            found[lang] = leaks
    return found


def test_inside_means_at_token_edges():
    held_out = {"May 5", "May 1", "50 euros", "5月5日", "twenty", "PT6S", "Mai 2026"}
    training = ["Tuesday, May 15, 2026", "12.50 euros", "2026年5月5日", "twenty-one", "-PT6S", "5. Mai 2026"]
    assert sorted(_inside(held_out, training)) == [
        ("5月5日", "2026年5月5日"),
        ("Mai 2026", "5. Mai 2026"),
        ("PT6S", "-PT6S"),
        ("twenty", "twenty-one"),
    ]
    assert _inside({"May 5"}, ["May 5"]) == [("May 5", "May 5")]


def test_no_held_out_string_is_or_is_inside_a_training_string_in_the_default_corpus():
    columns = generate(SMALL)
    assert {"valid", "test"} <= set(columns["split"])
    assert _leaks(columns, set(SMALL.families)) == {}
    # and every style of a date shares its split
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


def generations(monkeypatch) -> list[int]:
    """Counts the phrasebook's generations (a load from the cache generates nothing)."""
    from plugmt.corpora import phrasebook

    calls: list[int] = []
    real = phrasebook.generate

    def counted(spec):
        calls.append(1)
        return real(spec)

    monkeypatch.setattr(phrasebook, "generate", counted)
    return calls


def test_corpus_is_cached_and_not_regenerated(tmp_path, monkeypatch):
    settings = {"name": "phrasebook", "cache_dir": str(tmp_path), "first_year": 2000, "last_year": 2000}
    made = generations(monkeypatch)
    first = load_corpus(settings)
    assert len(made) == 1
    second = load_corpus(settings)
    assert len(made) == 1
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


# --- the full phrasebook: every family, 15 languages (small sizes so it stays fast) ---------------

FIFTEEN = ["en", "fr", "de", "es", "pt", "it", "nl", "ro", "pl", "cs", "sv", "tr", "ru", "ja", "ar"]
SMALL_SIZES = {"date_range": 150, "quantity": 300, "currency_amount": 300, "cardinal": 300}
FULL = PhrasebookSettings(
    languages=[*FIFTEEN, "iso"],
    families=list(FAMILIES),
    first_year=2000,
    last_year=2001,
    family_sizes=SMALL_SIZES,
)


@pytest.fixture(scope="module")
def full() -> dict[str, list[str]]:
    return generate(FULL)


def _rows_of(columns: dict[str, list[str]], family: str) -> list[int]:
    return [i for i, group in enumerate(columns["group"]) if group == family]


def test_default_corpus_is_unchanged_by_the_new_generator():
    # sha256 of generate() by GENERATOR_VERSION 1 (dates only) for the same settings
    columns = generate(SMALL)
    digest = hashlib.sha256(json.dumps(columns, sort_keys=True).encode()).hexdigest()
    assert digest == "2f42c5fcd05a1de6d87706583625ea9779876e8cc4d1e9393048afd5d1df0267"


def test_every_family_is_generated_deterministically(full):
    assert set(full["group"]) == set(FAMILIES)
    assert generate(FULL) == full


def test_a_meaning_is_held_out_with_its_key_and_with_the_meanings_it_contains(full):
    rank = {"train": 0, "valid": 1, "test": 2}
    assert len(set(full["meaning"])) == len(full["meaning"])
    split = dict(zip(full["meaning"], full["split"], strict=True))

    def own(meaning: str) -> int:
        return rank[split_of(meaning.split(":", 1)[1], FULL.valid_fraction, FULL.test_fraction)]

    def strictest(*meanings: str) -> int:
        return max(rank[split[m]] for m in meanings if m in split)

    def parts(day: str) -> list[str]:
        styles = [f"date_{style}:{day}" for style in ("full", "long", "medium")]
        return [*styles, f"month_day:--{day[5:]}", f"month_year:{day[:7]}"]

    for family in FAMILIES:
        assert _rows_of(full, family), family
    for meaning, group in zip(full["meaning"], full["group"], strict=True):
        key = meaning.split(":", 1)[1]
        if FAMILIES[group].train_only:
            assert split[meaning] == "train"
        elif group.startswith("date_") and group != "date_range":  # every style of a date: one split
            assert rank[split[meaning]] == max(own(meaning), strictest(*parts(key))), meaning
        elif group == "date_range":
            start, end = key.split("/")
            assert rank[split[meaning]] == max(own(meaning), strictest(*parts(start), *parts(end)))
        elif group in ("month_day", "month_year", "cardinal"):  # they contain no other meaning
            assert rank[split[meaning]] == own(meaning), meaning
        else:
            assert rank[split[meaning]] >= own(meaning), meaning
        if group == "relative_time" and key.startswith("-"):  # "-PT6S" holds "PT6S"
            assert rank[split[meaning]] >= rank[split[f"relative_time:{key[1:]}"]], meaning
    assert full["split"].count("test") > 0 and full["split"].count("valid") > 0
    # the rules bite: some dates and ranges are held out only for what they contain
    dated = [m for m in full["meaning"] if m.startswith("date_") and own(m) == 0]
    assert any(split[m] != "train" for m in dated if m.startswith("date_range:"))
    assert any(split[m] != "train" for m in dated if m.startswith("date_full:"))


def test_train_only_families_never_reach_valid_or_test(full):
    train_only = [name for name, family in FAMILIES.items() if family.train_only]
    assert set(train_only) == {"country_name", "language_name", "script_name", "currency_name"}
    for family in train_only:
        assert {full["split"][i] for i in _rows_of(full, family)} == {"train"}, family


def test_every_string_has_one_meaning_in_every_language_across_families(full):
    for lang in FIFTEEN:
        assert len(set(full[lang])) == len(full[lang]), lang


def test_every_row_has_every_column_and_nothing_exotic(full):
    odd = {"\u00a0", "\u202f", "\u2009", "\u200e", "\u200f", "\u061c"}
    for lang in [*FIFTEEN, "iso"]:
        assert len(full[lang]) == len(full["meaning"]), lang
        for text in full[lang]:
            assert text and text == text.strip(), (lang, text)
            assert not any(ch in odd or unicodedata.category(ch) == "Cf" for ch in text), (lang, text)


@pytest.mark.parametrize(
    ("family", "iso", "en", "de"),
    [
        ("month_day", "--05-05", "May 5", "5. Mai"),
        ("month_year", "2001-05", "May 2001", "Mai 2001"),
        ("quarter_year", "2001-Q2", "2nd quarter 2001", "2. Quartal 2001"),
        ("relative_time", "P3D", "in 3 days", "in 3 Tagen"),
        ("relative_time", "-P2W", "2 weeks ago", "vor 2 Wochen"),
        ("relative_time", "PT5M", "in 5 minutes", "in 5 Minuten"),
        ("quantity", "5 km", "5 kilometers", "5 Kilometer"),
        ("currency_amount", "12.50 EUR", "12.50 euros", "12,50 Euro"),
        ("cardinal", "21", "twenty-one", "einundzwanzig"),
        ("country_name", "DE", "Germany", "Deutschland"),
        ("language_name", "fr", "French", "Französisch"),
        ("script_name", "Latn", "Latin", "Lateinisch"),
        ("currency_name", "JPY", "Japanese Yen", "Japanischer Yen"),
    ],
)
def test_known_renderings_of_every_family(family, iso, en, de):
    sizes = {name: 10_000 for name in FAMILIES}
    columns = generate(
        PhrasebookSettings(
            languages=["en", "de", "iso"],
            families=[family],
            first_year=2001,
            last_year=2001,
            family_sizes=sizes,
        )
    )
    i = columns["iso"].index(iso)
    assert (columns["en"][i], columns["de"][i]) == (en, de)


def test_a_date_range_is_an_iso_interval():
    columns = generate(
        PhrasebookSettings(languages=["en", "iso"], families=["date_range"], first_year=2001, last_year=2001)
    )
    start, end = columns["iso"][0].split("/")
    assert start == "2001-01-01" and end > start
    assert " – " in columns["en"][0]


def test_family_sizes_pick_a_stable_growing_subset():
    def meanings(size: int) -> list[str]:
        settings = PhrasebookSettings(
            languages=["en", "iso"], families=["cardinal"], family_sizes={"cardinal": size}
        )
        return generate(settings)["meaning"]

    small, large = meanings(50), meanings(200)
    assert len(small) == 50 and len(large) == 200 and set(small) < set(large)
    assert max(int(m.split(":")[1]) for m in small) > 1000  # spread over 0..9999, not the first 50


def test_a_language_a_family_cannot_render_is_refused_by_name():
    settings = PhrasebookSettings(languages=["en", "zh", "iso"], families=["date_long", "cardinal"])
    with pytest.raises(PlugmtError, match=r"family 'cardinal' cannot render language 'zh'.*remove cardinal"):
        generate(settings)
    zh = PhrasebookSettings(
        languages=["en", "zh", "iso"],
        families=[f for f in FAMILIES if f != "cardinal"],
        first_year=2001,
        last_year=2001,
        family_sizes=SMALL_SIZES,
    )
    assert all(generate(zh)["zh"])


def test_bad_family_sizes_are_named():
    with pytest.raises(PlugmtError, match="unknown phrasebook family 'cardinals'"):
        generate(PhrasebookSettings(family_sizes={"cardinals": 10}))
    with pytest.raises(PlugmtError, match=r"data.family_sizes.cardinal=0 must be a whole number"):
        generate(PhrasebookSettings(family_sizes={"cardinal": 0}))


def test_configs_keep_the_default_and_offer_the_full_phrasebook(compose):
    default = compose(phrasebook=False).data
    assert list(default.languages) == ["en", "fr", "de", "es", "pt", "it", "iso"]
    assert list(default.families) == ["date_full", "date_long", "date_medium"]
    assert (default.first_year, default.last_year) == (1950, 2049)
    assert set(default.family_sizes) == set(FAMILIES)  # so data.family_sizes.<family>=N needs no '+'
    assert settings_from(default) == PhrasebookSettings(
        languages=list(default.languages), families=list(default.families)
    )
    full_data = compose("data=phrasebook_full", phrasebook=False).data
    assert full_data.name == "phrasebook"
    assert set(FIFTEEN) < set(full_data.languages) and "iso" in full_data.languages
    assert list(full_data.families) == list(FAMILIES)
    assert set(full_data.family_sizes) == set(FAMILIES)


def test_cached_corpus_keeps_train_only_families_in_train(tmp_path, monkeypatch):
    settings = {
        "name": "phrasebook",
        "cache_dir": str(tmp_path),
        "languages": ["en", "fr", "iso"],
        "families": ["month_day", "country_name"],
        "family_sizes": {"country_name": 40},
    }
    made = generations(monkeypatch)
    corpus = load_corpus(settings)
    assert load_corpus(settings).texts("test", "iso") == corpus.texts("test", "iso")
    assert len(made) == 1
    assert set(corpus.groups("test")) == set(corpus.groups("valid")) == {"month_day"}
    assert corpus.groups("train").count("country_name") == 40


# --- the promise of corpora/phrasebook.py, on data=phrasebook_full exactly as configured ----------


@pytest.fixture(scope="session")
def phrasebook_full(compose) -> dict[str, list[str]]:
    started = time.process_time()
    columns = generate(settings_from(compose("data=phrasebook_full", phrasebook=False).data))
    print(f"data=phrasebook_full generated in {time.process_time() - started:.1f}s of CPU")
    return columns


def test_no_held_out_string_is_or_is_inside_a_training_string_in_any_family_or_language(phrasebook_full):
    columns = phrasebook_full
    # the one family the promise leaves out: cardinals are made of each other ("twenty" in "twenty-one")
    assert {name for name, family in FAMILIES.items() if family.compositional} == {"cardinal"}
    kept_apart = {name for name, family in FAMILIES.items() if not family.compositional}
    assert set(columns["group"]) == set(FAMILIES)
    languages = [name for name in columns if name not in ("meaning", "group", "split")]
    assert len(languages) == 16 and "iso" in languages and "ja" in languages
    assert {"valid", "test"} <= set(columns["split"])
    started = time.process_time()
    leaks = _leaks(columns, kept_apart)
    print(f"checked in {time.process_time() - started:.1f}s of CPU")
    assert leaks == {}, {lang: found[:3] for lang, found in leaks.items()}


def test_source_variants_of_training_ranges_hold_no_held_out_string(full):
    """A variant is read as a training source (train.source_variants), so like the row's own
    rendering it must hold no valid or test string of any family but cardinals, in any language."""
    train = [i for i in _rows_of(full, "date_range") if full["split"][i] == "train"]
    keys = [full["meaning"][i] for i in train]
    for lang in FIFTEEN:
        texts = [t for row in variant_texts(keys, ["date_range"] * len(keys), lang) for t in row]
        rows = zip(full[lang], full["split"], full["group"], strict=True)
        held_out = {text for text, split, group in rows if split != "train" and group != "cardinal"}
        assert texts and held_out
        assert _inside(held_out, texts) == [], lang
