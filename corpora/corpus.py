"""A corpus is multi-way parallel text in splits: one row per meaning, one column per language."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from plugmt.atomic import atomic_path
from plugmt.corpora.vocab import cache_root
from plugmt.errors import PlugmtError

SPLITS = ("train", "valid", "test")
CorpusLoader = Callable[[Mapping[str, Any]], "Corpus"]
# Corpus kinds by `data.name` (conf/data/*.yaml pick one): `@register_corpus("name")` adds one.
CORPORA: dict[str, CorpusLoader] = {}


@dataclass
class Corpus:
    """Splits of a `datasets.DatasetDict` whose language columns are aligned row by row."""

    name: str
    splits: Any  # datasets.DatasetDict
    languages: list[str]
    target_only: tuple[str, ...] = ()

    def texts(self, split: str, lang: str) -> list[str]:
        if lang not in self.languages:
            raise PlugmtError(
                f"the {self.name} corpus has no language {lang!r}; it has: {', '.join(self.languages)}"
            )
        return self._column(split, lang)

    def groups(self, split: str) -> list[str]:
        return self._column(split, "group")

    def keys(self, split: str) -> list[str]:
        """A stable name per row: the phrasebook's meaning ("date_full:2026-05-05"), else the row's
        number in its split."""
        if "meaning" in self.splits[split].column_names:
            return self._column(split, "meaning")
        return [str(i) for i in range(self.splits[split].num_rows)]

    def _column(self, split: str, name: str) -> list[str]:
        # Through Arrow: iterating a datasets column in Python is ~100x slower.
        return self.splits[split].with_format("arrow")[name].to_pylist()

    def sources(self) -> list[str]:
        """Languages that can be read by an encoder (all but target-only pseudo-languages)."""
        return [lang for lang in self.languages if lang not in self.target_only]


def register_corpus(name: str) -> Callable[[CorpusLoader], CorpusLoader]:
    """Decorator: `load(settings) -> Corpus` loads the corpus kind `data.name=<name>`."""

    def decorate(load: CorpusLoader) -> CorpusLoader:
        if name in CORPORA and CORPORA[name] is not load:
            raise PlugmtError(f"corpus kind {name!r} is registered twice; rename one of them")
        CORPORA[name] = load
        return load

    return decorate


def load_corpus(settings: Mapping[str, Any]) -> Corpus:
    """The corpus `data=` names; the phrasebook is generated once and then read from the cache."""
    name = str(settings.get("name"))
    if name not in CORPORA:
        raise PlugmtError(f"unknown corpus data.name={name!r}; available: {', '.join(sorted(CORPORA))}")
    return CORPORA[name](settings)


def _parallel(name: str, splits: Mapping[str, Any], languages: list[str]) -> Corpus:
    import datasets

    table = datasets.DatasetDict({s: datasets.Dataset.from_dict(columns) for s, columns in splits.items()})
    return Corpus(name, table, languages)


@register_corpus("files")
def _files(settings: Mapping[str, Any]) -> Corpus:
    from plugmt.corpora.files import load_files

    return _parallel("files", *load_files(settings))


@register_corpus("hub")
def _hub(settings: Mapping[str, Any]) -> Corpus:
    from plugmt.corpora.hub import load_hub

    return _parallel("hub", *load_hub(settings))


@register_corpus("phrasebook")
def _phrasebook(settings: Mapping[str, Any]) -> Corpus:
    from importlib.metadata import version

    import datasets

    from plugmt.corpora import phrasebook

    spec = phrasebook.settings_from(settings)
    key = json.dumps(
        {
            "generator": phrasebook.GENERATOR_VERSION,
            "babel": version("babel"),
            "num2words": version("num2words"),
            "settings": {k: v for k, v in vars(spec).items() if k != "extra"},
        },
        sort_keys=True,
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    folder = cache_root(settings.get("cache_dir")) / f"phrasebook-{digest}"
    datasets.disable_progress_bars()
    if not (folder / "corpus.json").is_file():
        _build_phrasebook(folder, spec, key)
    splits = datasets.load_from_disk(str(folder))
    return Corpus("phrasebook", splits, spec.languages, phrasebook.TARGET_ONLY)


def _build_phrasebook(folder: Path, spec: Any, key: str) -> None:
    import datasets

    from plugmt.corpora import phrasebook

    columns = phrasebook.generate(spec)
    split_of_row = columns.pop("split")
    # Split in Python, not with Dataset.filter: the full phrasebook has ~10^5 rows of 16 languages.
    rows = {s: [i for i, row_split in enumerate(split_of_row) if row_split == s] for s in SPLITS}
    tables = {s: {name: [values[i] for i in rows[s]] for name, values in columns.items()} for s in SPLITS}
    splits = datasets.DatasetDict({s: datasets.Dataset.from_dict(table) for s, table in tables.items()})
    # Written beside the final folder and renamed, so a killed run never leaves half a cache.
    with atomic_path(folder, replace_folder=True) as temporary:
        splits.save_to_disk(str(temporary))
        (temporary / "corpus.json").write_text(key)


def sample_rows(total: int, items: int | None, seed: int = 0) -> np.ndarray:
    """A fixed sample of a split's rows, spread over the whole split rather than its first groups;
    `items=None`: every row."""
    if items is None or items >= total:
        return np.arange(total)
    return np.sort(np.random.default_rng(seed).choice(total, size=items, replace=False))
