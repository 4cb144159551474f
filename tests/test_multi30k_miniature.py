"""experiment=multi30k in miniature: a few hundred lines written here (never the real data), in the
{split}.{lang} layout and in the hub layout, run end to end through plugmt-run's stages."""

from __future__ import annotations

import json

import datasets
import pytest

from plugmt.cli.apps import run

WORDS = {
    "en": ["a", "dog", "cat", "runs", "sleeps", "red", "big"],
    "de": ["ein", "Hund", "Katze", "rennt", "schläft", "roter", "großer"],
    "fr": ["un", "chien", "chat", "court", "dort", "rouge", "grand"],
    "cs": ["jeden", "pes", "kočka", "běží", "spí", "červený", "velký"],
}
SIZES = {"train": 240, "val": 30, "test_2016_flickr": 30}
TINY_MODEL = [
    "encoder.d_model=16",
    "encoder.heads=2",
    "encoder.layers=1",
    "encoder.ffn=16",
    "decoder.d_model=16",
    "decoder.heads=2",
    "decoder.layers=1",
    "decoder.ffn=16",
    "train.steps=6",
    "train.batch_size=16",
    "train.validate_every=3",
    "train.eval_items=8",
    "train.warmup_steps=2",
    "train.checkpoint_every=0",
    "plugin.train.steps=4",
    "eval.max_items=12",
    "data.vocab_type=char",
    "data.vocab_size=200",
    "data.source_vocab_size=200",
]


def sentences(lang: str, count: int, offset: int) -> list[str]:
    words = WORDS[lang]
    return [
        f"{words[0]} {words[1 + (i + offset) % 6]} {words[1 + (i + offset) // 6 % 6]}" for i in range(count)
    ]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("m30k")
    for offset, (split, count) in enumerate(SIZES.items()):
        for lang in WORDS:
            (path / f"{split}.{lang}").write_text("\n".join(sentences(lang, count, offset * 7)) + "\n")
    return path


def _compose(cache_dir, tmp_path, *data):
    """The experiment's config as plugmt-run composes it (not conftest's TINY: that pins the LSTM)."""
    from hydra import compose, initialize_config_module

    from plugmt.conf.schemas import register as register_schemas

    register_schemas()
    overrides = [
        "experiment=multi30k",
        *data,
        *TINY_MODEL,
        f"store={tmp_path / 'store'}",
        f"train.tensorboard={tmp_path / 'tb'}",
        f"eval.out={tmp_path / 'eval'}",
        f"+data.cache_dir={cache_dir}",
    ]
    with initialize_config_module("plugmt.conf", version_base="1.3"):
        return compose("config", overrides=overrides)


def _run(cache_dir, tmp_path, *data):
    run(_compose(cache_dir, tmp_path, *data))
    return json.loads((tmp_path / "eval" / "matrix.json").read_text())


def _check(matrix, tmp_path):
    kinds = {(c["src"], c["tgt"]): c["kind"] for c in matrix["cells"]}
    assert kinds[("en", "de")] == kinds[("fr", "en")] == "supervised"
    assert kinds[("de", "fr")] == kinds[("fr", "de")] == "zero-shot"
    assert kinds[("de", "cs")] == kinds[("fr", "cs")] == "plugged"
    assert kinds[("en", "cs")] == "supervised"
    assert {src for src, _ in kinds} == {"en", "de", "fr"} and len(kinds) == 9
    pivots = {(c["src"], c["tgt"]): c["pivot"]["path"] for c in matrix["cells"] if c["pivot"]}
    assert pivots == {
        ("de", "fr"): ["de", "en", "fr"],
        ("fr", "de"): ["fr", "en", "de"],
        ("de", "cs"): ["de", "en", "cs"],
        ("fr", "cs"): ["fr", "en", "cs"],
    }
    assert matrix["signatures"]["bleu"].startswith("nrefs:1|") and "version:" in matrix["signatures"]["chrf"]
    # Real sentences are scored with beam search by default, and the matrix says how it decoded.
    assert matrix["search"] == {"beam_size": 5, "length_penalty": 1.0}
    first = (tmp_path / "eval" / "matrix.md").read_text().splitlines()[0]
    assert first.endswith("items per cell, beam 5 with length penalty 1.0."), first
    # One TensorBoard run per stage, so the plug-in's steps do not restart the joint stage's curves.
    runs = {p.parent.name for p in (tmp_path / "tb").glob("*/events.out.tfevents.*")}
    assert runs == {"joint", "plugin-cs"}


def test_the_multi30k_experiment_on_a_folder(folder, cache_dir, tmp_path):
    _check(_run(cache_dir, tmp_path, f"data.path={folder}"), tmp_path)


def test_the_same_experiment_reads_a_hub_dataset_saved_locally(folder, cache_dir, tmp_path):
    """data=hub replaces the experiment's data=files by name and yields the same corpus, so the
    stages (run above on files) see the same rows."""
    from plugmt.corpora.corpus import load_corpus

    splits = {}
    for ours, theirs in (("train", "train"), ("validation", "val"), ("test", "test_2016_flickr")):
        rows = [
            dict(zip(WORDS, r, strict=True))
            for r in zip(
                *((folder / f"{theirs}.{lang}").read_text().splitlines() for lang in WORDS), strict=True
            )
        ]
        splits[ours] = datasets.Dataset.from_dict({"translation": rows})
    datasets.DatasetDict(splits).save_to_disk(str(tmp_path / "hub"))
    hub = _compose(
        cache_dir,
        tmp_path,
        "data=hub",
        f"data.dataset={tmp_path / 'hub'}",
        "data.splits={train: train, valid: validation, test: test}",
    )
    assert hub.data.name == "hub" and hub.encoder.name == "transformer"
    files = _compose(cache_dir, tmp_path, f"data.path={folder}")
    from_hub, from_files = load_corpus(hub.data), load_corpus(files.data)
    assert sorted(from_hub.languages) == sorted(from_files.languages) == sorted(WORDS)
    for split in ("train", "valid", "test"):
        for lang in WORDS:
            assert from_hub.texts(split, lang) == from_files.texts(split, lang)
