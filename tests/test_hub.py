"""data=hub offline: datasets saved in the hub's two common layouts, and a name that needs the net."""

import datasets
import pytest

from plugmt.corpora.corpus import load_corpus
from plugmt.errors import PlugmtError

ROWS = {"en": ["one dog", "two cats", "", "four birds"], "de": ["ein Hund", "zwei Katzen", "drei", "vier"]}


def save(tmp_path, layout):
    if layout == "translation":
        column = {"translation": [{"en": e, "de": d} for e, d in zip(ROWS["en"], ROWS["de"], strict=True)]}
    else:
        column = dict(ROWS)
    split = datasets.Dataset.from_dict(column)
    datasets.DatasetDict({"train": split, "validation": split, "test": split}).save_to_disk(
        str(tmp_path / layout)
    )
    return {"name": "hub", "dataset": str(tmp_path / layout), "layout": layout}


@pytest.mark.parametrize("layout", ["translation", "columns"])
def test_both_layouts_load_with_empty_rows_dropped(tmp_path, layout):
    corpus = load_corpus(save(tmp_path, layout))
    assert sorted(corpus.languages) == ["de", "en"]
    assert corpus.texts("test", "de") == ["ein Hund", "zwei Katzen", "vier"]


def test_a_missing_split_says_how_to_map_it(tmp_path):
    settings = {**save(tmp_path, "columns"), "splits": {"train": "train", "valid": "dev"}}
    with pytest.raises(PlugmtError, match=r"no split 'dev' \(for valid\); it has: train, validation, test"):
        load_corpus(settings)


def test_a_wrong_column_is_named(tmp_path):
    with pytest.raises(PlugmtError, match=r"data\.column='pairs' is not a column"):
        load_corpus({**save(tmp_path, "translation"), "column": "pairs"})


def test_a_hub_name_offline_fails_at_once_in_one_line(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(PlugmtError, match=r"cannot be reached .*use data=files"):
        load_corpus({"name": "hub", "dataset": "no-such-user/no-such-corpus"})


def test_the_hub_settings_are_huggingface_hubs_own(monkeypatch):
    """Offline as huggingface_hub reads it (HF_HUB_OFFLINE=true counts), and HF_ENDPOINT's mirror
    is the host tried and named (here a closed local port: no network)."""
    import socket

    import datasets
    from huggingface_hub import constants

    def no_network(*args, **kwargs):
        raise AssertionError("offline: no connection may be tried")

    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):  # only huggingface_hub's reading decides
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)  # what HF_HUB_OFFLINE=true sets
    monkeypatch.setattr(socket, "create_connection", no_network)
    with pytest.raises(PlugmtError, match="cannot be reached"):
        load_corpus({"name": "hub", "dataset": "no-such-user/no-such-corpus"})
    monkeypatch.undo()
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")  # discard port: refused at once
    with pytest.raises(PlugmtError, match=r"the hub \(127\.0\.0\.1:9\) cannot be reached"):
        load_corpus({"name": "hub", "dataset": "no-such-user/no-such-corpus"})
