"""Shared fixtures: tiny configs composed from the real conf/ tree, and one tiny trained store."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Offline always; a private cache so tests never touch (or depend on) the user's.
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from plugmt.cli.runtime import quiet_tensorflow
from plugmt.storage.module import sealed

quiet_tensorflow()

# A few dozen dates, four languages, a 16-unit model: every test below trains in seconds.
TINY = [
    "encoder=lstm",  # the fastest to train; tests of the other architectures pick their own
    # Characters: a 6-step model still writes something (a BPE one mostly ends at once), which the
    # tests of translate, export and damaged stores read; the default BPE recipe is run by CI's gate.
    "data.vocab_type=char",
    "data.isolate=''",
    "data.languages=[en,fr,de,es,iso]",
    "data.first_year=2000",
    "data.last_year=2001",
    "data.valid_fraction=0.1",
    "data.test_fraction=0.1",
    "data.pairs=[en-fr,fr-en,en-de,de-en]",
    "encoder.units=16",
    "encoder.embed_dim=8",
    "decoder.embed_dim=8",
    "train.steps=6",
    "train.batch_size=32",
    "train.log_every=3",
    "train.eval_items=8",
    "eval.max_items=12",
    "plugin.lang=es",
    "plugin.pairs=[de-es]",
]


# The longest files first (CI's --durations, 2026-11-30): with two workers (pyproject addopts: one
# file per worker at a time, in this order, --no-loadscope-reorder) the long ones start at once and
# the short ones fill in at the end, instead of a long file starting last while the other idles.
LONGEST_FIRST = [
    "test_cli.py",
    "test_fault.py",
    "test_cli_edges.py",
    "test_resume.py",
    "test_distribute.py",
    "test_bad_input.py",
    "test_multi30k_miniature.py",
    "test_export.py",
    "test_phrasebook.py",
    "test_architectures.py",
    "test_adapters.py",
    "test_api.py",
    "test_training.py",
    "test_registry_cli.py",
    "test_store_concurrency.py",
    "test_validate.py",
    "test_external_architectures.py",
    "test_files.py",
    "test_student.py",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cache")
    os.environ["PLUGMT_CACHE"] = str(path)
    return path


@pytest.fixture(scope="session")
def compose(cache_dir: Path):
    """compose(*overrides) -> the DictConfig `plugmt-run` would see, TINY settings first."""
    from plugmt.cli.hydra_app import compose_config
    from plugmt.conf.schemas import register as register_schemas

    register_schemas()

    def make(*overrides: str, phrasebook: bool = True):
        """`phrasebook=False`: TINY's model and training settings only, for another `data=`."""
        if phrasebook:
            base = [*TINY, f"data.cache_dir={cache_dir}"]
        else:
            base = [o for o in TINY if not o.startswith("data.")]
        return compose_config("config", [*base, *overrides])

    return make


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory, compose):
    """A store with a jointly trained encoder (en, fr, de) and a plugged-in es decoder (de->es)."""
    from plugmt.storage import Store
    from plugmt.training.stages import train_joint, train_plugin

    root = tmp_path_factory.mktemp("store")
    cfg = compose(f"store={root}")
    store = Store(root)
    encoder, decoders = train_joint(cfg, store)
    plugged = train_plugin(cfg, store, "es", ["de-es"])
    return {"cfg": cfg, "store": store, "encoder": encoder, "decoders": decoders, "plugged": plugged}


def rehash(files: dict[str, bytes], meta: dict | None = None) -> dict[str, bytes]:
    """Make meta.json (`meta`, or the bundle's own) and the manifest agree with the tampered files,
    so only the check under test can fire; a `files` entry that is not a mapping is left as it is."""
    import hashlib
    import json

    files = dict(files)
    meta = json.loads(files["meta.json"]) if meta is None else meta
    if isinstance(meta.get("files"), dict):
        meta["files"] = {n: hashlib.sha256(files[n]).hexdigest() for n in meta["files"]}
    files["meta.json"] = json.dumps(sealed(meta)).encode()
    manifest = json.loads(files["manifest.json"])
    manifest["files"] = {n: hashlib.sha256(files[n]).hexdigest() for n in manifest["files"]}
    files["manifest.json"] = json.dumps(manifest).encode()
    return files
