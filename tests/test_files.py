"""data=files: folders of `{split}.{lang}` files, written here, and every way they can be wrong."""

import logging

import pytest

from plugmt.corpora.corpus import load_corpus
from plugmt.errors import PlugmtError

SPLITS = {"train": "train", "valid": "val", "test": "test"}


def write(folder, name, lines, raw=None):
    (folder / name).write_bytes(raw if raw is not None else ("\n".join(lines) + "\n").encode())


@pytest.fixture
def folder(tmp_path):
    for split, n in (("train", 6), ("val", 2), ("test", 3)):
        write(tmp_path, f"{split}.en", [f"a dog number {i}" for i in range(n)])
        write(tmp_path, f"{split}.de", [f"ein Hund Nummer {i}" for i in range(n)])
        write(tmp_path, f"{split}.fr", [f"un chien numéro {i}" for i in range(n)])
    return tmp_path


def load(folder, **extra):
    return load_corpus({"name": "files", "path": str(folder), "splits": SPLITS, **extra})


def test_languages_and_splits_are_discovered_and_aligned(folder):
    corpus = load(folder)
    assert corpus.languages == ["de", "en", "fr"]
    assert corpus.texts("test", "fr")[2] == "un chien numéro 2"
    assert corpus.texts("train", "de")[4] == "ein Hund Nummer 4"
    assert len(corpus.groups("valid")) == 2


def test_empty_lines_are_skipped_counted_and_reported_once(folder, caplog):
    write(folder, "train.de", ["x", "", "y", "z", "", "w"])
    with caplog.at_level(logging.WARNING, logger="plugmt.data"):
        corpus = load(folder)
    assert corpus.texts("train", "en") == [
        "a dog number 0",
        "a dog number 2",
        "a dog number 3",
        "a dog number 5",
    ]
    assert [r.message for r in caplog.records] == ["train: skipped 2 line(s) empty in at least one language"]


def test_different_line_counts_name_both_files_and_counts(folder):
    write(folder, "val.fr", ["only one"])
    with pytest.raises(PlugmtError, match=r"val\.fr has 1 lines but .*val\.(de|en) has 2"):
        load(folder)


def test_a_language_missing_from_one_split_is_named(folder):
    (folder / "test.fr").unlink()
    with pytest.raises(PlugmtError, match=r"language 'fr' has no test\.fr .*test has: de, en"):
        load(folder)


def test_invalid_utf8_names_file_and_line(folder):
    write(folder, "train.de", None, raw=b"gut\nauch gut\nkaputt \xff\n")
    with pytest.raises(PlugmtError, match=r"train\.de is not valid UTF-8 at line 3"):
        load(folder)


def test_a_split_the_folder_lacks_says_how_to_map_it(folder):
    with pytest.raises(PlugmtError, match=r"no files for split valid='valid'; it has: test, train, val"):
        load_corpus({"name": "files", "path": str(folder)})


def test_a_requested_language_the_corpus_lacks_is_named(folder):
    with pytest.raises(PlugmtError, match=r"language 'cs' has no train\.cs"):
        load(folder, languages=["en", "cs"])


def test_a_path_that_is_not_a_folder_is_named(tmp_path):
    with pytest.raises(PlugmtError, match="is not a folder"):
        load(tmp_path / "nowhere")


def test_joint_training_and_the_matrix_run_on_files(folder, compose, tmp_path):
    from plugmt.evaluation.matrix import zero_shot_matrix
    from plugmt.inference.translator import Translator
    from plugmt.storage import Store
    from plugmt.training.stages import train_joint

    cfg = compose(
        "data=files",
        f"data.path={folder}",
        "data.splits.valid=val",
        "data.pairs=english_centric",
        "data.vocab_type=char",
        "data.vocab_size=200",
        f"store={tmp_path / 'store'}",
        phrasebook=False,
    )
    encoder, decoders = train_joint(cfg, Store(tmp_path / "store"))
    assert sorted(d.meta["lang"] for d in decoders) == ["de", "en", "fr"]
    matrix = zero_shot_matrix(Translator(Store(tmp_path / "store"), encoder), load(folder))
    kinds = {(c.src, c.tgt): c.kind for c in matrix.cells}
    assert kinds[("de", "fr")] == "zero-shot" and kinds[("en", "fr")] == "supervised"
