"""Parallel corpora through `datasets.load_dataset`: the hub when online, saved datasets always.

Two layouts cover the common translation sets: `translation` (one dict column {lang: text}, as in
wmt/opus sets) and `columns` (one text column per language). A name that is a local folder written by
`save_to_disk` loads from disk with no network at all; any other name needs the hub, and when the
hub cannot be reached the load fails at once, in one line, instead of retrying for half a minute.
"""

from __future__ import annotations

import socket
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from plugmt.corpora.files import length_groups
from plugmt.errors import PlugmtError


def _endpoint() -> str:
    """The hub the user's huggingface_hub talks to (HF_ENDPOINT: a mirror, if they set one)."""
    from huggingface_hub import constants

    return str(constants.ENDPOINT)


def _offline() -> bool:
    """huggingface_hub's and datasets' own reading of HF_HUB_OFFLINE / HF_DATASETS_OFFLINE (1, true,
    yes, on ...), not a second, stricter one."""
    import datasets
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE) or bool(datasets.config.HF_DATASETS_OFFLINE)


def _hub_reachable(timeout: float = 3.0) -> bool:
    if _offline():
        return False
    url = urllib.parse.urlsplit(_endpoint())
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "", port), timeout=timeout):
            return True
    except OSError:
        return False


def _open(settings: Mapping[str, Any]) -> Any:
    import datasets

    name = str(settings.get("dataset") or "")
    if not name:
        raise PlugmtError("data=hub needs data.dataset=<hub name or a folder saved with save_to_disk>")
    local = Path(name).expanduser()
    if (local / "dataset_dict.json").is_file():
        return datasets.load_from_disk(str(local))
    if not local.exists() and not _hub_reachable():
        hub = urllib.parse.urlsplit(_endpoint()).netloc
        raise PlugmtError(
            f"dataset {name!r} is not a local folder and the hub ({hub}) cannot be reached "
            "(offline, or HF_HUB_OFFLINE=1); use data=files or a folder saved with save_to_disk"
        )
    try:
        return datasets.load_dataset(name, settings.get("config"))
    except Exception as error:  # datasets raises many types; the user needs one line
        raise PlugmtError(f"datasets could not load {name!r}: {str(error).splitlines()[0]}") from None


def _columns(split: Any, settings: Mapping[str, Any]) -> tuple[dict[str, list[str]], list[str]]:
    layout = str(settings.get("layout") or "translation")
    if layout == "translation":
        column = str(settings.get("column") or "translation")
        if column not in split.column_names:
            raise PlugmtError(
                f"data.column={column!r} is not a column of this dataset; it has: "
                f"{', '.join(split.column_names)} (or set data.layout=columns)"
            )
        records = split[column]
        languages = list(settings.get("languages") or (sorted(records[0]) if len(records) else []))
        return {lang: [(r.get(lang) or "").strip() for r in records] for lang in languages}, languages
    if layout == "columns":
        languages = list(settings.get("languages") or split.column_names)
        for lang in languages:
            if lang not in split.column_names:
                known = ", ".join(split.column_names)
                raise PlugmtError(f"language column {lang!r} is not in this dataset; it has: {known}")
        return {lang: [(t or "").strip() for t in split[lang]] for lang in languages}, languages
    raise PlugmtError(f"data.layout={layout!r} is not one of: translation, columns")


def load_hub(settings: Mapping[str, Any]) -> tuple[dict[str, dict[str, list[str]]], list[str]]:
    """{plugmt split: columns} and the languages, with rows empty in any language dropped."""
    table = _open(settings)
    names = dict(settings.get("splits") or {"train": "train", "valid": "validation", "test": "test"})
    splits: dict[str, dict[str, list[str]]] = {}
    languages: list[str] = []
    for ours, theirs in names.items():
        if theirs not in table:
            raise PlugmtError(
                f"the dataset has no split {theirs!r} (for {ours}); it has: {', '.join(table)} "
                f"(map it with data.splits.{ours}=...)"
            )
        columns, languages = _columns(table[theirs], settings)
        keep = [i for i in range(len(columns[languages[0]])) if all(columns[lang][i] for lang in languages)]
        splits[ours] = {lang: [columns[lang][i] for i in keep] for lang in languages}
        splits[ours]["group"] = length_groups(splits[ours], languages)
    return splits, languages
