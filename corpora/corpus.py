"""A corpus is multi-way parallel text in splits: one row per meaning, one column per language."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plugmt.corpora.vocab import cache_root
from plugmt.errors import PlugmtError

SPLITS = ("train", "valid", "test")
# How many times this process generated a phrasebook rather than loading the cache (tests read it).
generation_count = 0


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


def load_corpus(settings: Mapping[str, Any]) -> Corpus:
    """The corpus `data=` names; the phrasebook is generated once and then read from the cache."""
    name = str(settings.get("name"))
    if name == "phrasebook":
        return _phrasebook(settings)
    if name in ("files", "hub"):
        return _parallel(name, settings)
    raise PlugmtError(f"unknown corpus data.name={name!r}; available: phrasebook, files, hub")


def _parallel(name: str, settings: Mapping[str, Any]) -> Corpus:
    import datasets

    from plugmt.corpora.files import load_files
    from plugmt.corpora.hub import load_hub

    splits, languages = (load_files if name == "files" else load_hub)(settings)
    table = datasets.DatasetDict({s: datasets.Dataset.from_dict(columns) for s, columns in splits.items()})
    return Corpus(name, table, languages)


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

    global generation_count
    generation_count += 1
    columns = phrasebook.generate(spec)
    split_of_row = columns.pop("split")
    # Split in Python, not with Dataset.filter: the full phrasebook has ~10^5 rows of 16 languages.
    rows = {s: [i for i, row_split in enumerate(split_of_row) if row_split == s] for s in SPLITS}
    tables = {s: {name: [values[i] for i in rows[s]] for name, values in columns.items()} for s in SPLITS}
    splits = datasets.DatasetDict({s: datasets.Dataset.from_dict(table) for s, table in tables.items()})
    # Written beside the final folder and renamed, so a killed run never leaves half a cache.
    folder.parent.mkdir(parents=True, exist_ok=True)
    temporary = folder.parent / f".tmp-{folder.name}-{uuid.uuid4().hex[:8]}"
    try:
        splits.save_to_disk(str(temporary))
        (temporary / "corpus.json").write_text(key)
        if folder.exists():
            shutil.rmtree(folder)
        os.rename(temporary, folder)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
