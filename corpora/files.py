"""Line-aligned parallel files in a folder, named `{split}.{lang}` (the Multi30k layout).

Languages and splits are discovered from the file names; `splits` maps plugmt's train/valid/test
onto the folder's names (Multi30k calls them train, val, test_2016_flickr). Every check runs before
anything is built, and each failure names the file (and line) at fault.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from plugmt.errors import PlugmtError

log = logging.getLogger("plugmt.data")
GROUP_WIDTH = 16  # characters per length group: batches draw from one group at a time


def discover(folder: Path) -> dict[str, dict[str, Path]]:
    """{split name: {lang: path}} for every `{split}.{lang}` file in `folder`."""
    if not folder.is_dir():
        raise PlugmtError(
            f"data.path={str(folder)!r} is not a folder; point it at `{{split}}.{{lang}}` files"
        )
    found: dict[str, dict[str, Path]] = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and "." in path.name and not path.name.startswith("."):
            split, lang = path.name.rsplit(".", 1)
            if lang.isalpha() and 2 <= len(lang) <= 8:
                found.setdefault(split, {})[lang] = path
    return found


def read_lines(path: Path) -> list[str]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise PlugmtError(f"{path} is not valid UTF-8 at line {line} (byte {error.start})") from None
    lines = text.split("\n")
    if lines[-1] == "":  # the newline that ends the last line starts no new one
        lines.pop()
    return [line.strip() for line in lines]


def load_files(settings: Mapping[str, Any]) -> tuple[dict[str, dict[str, list[str]]], list[str]]:
    """{plugmt split: columns} and the languages, all checked; rows with an empty side dropped."""
    if not settings.get("path"):
        raise PlugmtError("data=files needs data.path=<folder of {split}.{lang} files>")
    folder = Path(str(settings["path"])).expanduser()
    found = discover(folder)
    names = dict(settings.get("splits") or {"train": "train", "valid": "valid", "test": "test"})
    missing = [f"{ours}={theirs!r}" for ours, theirs in names.items() if theirs not in found]
    if missing:
        raise PlugmtError(
            f"{folder} has no files for split {missing[0]}; it has: {', '.join(sorted(found)) or 'none'} "
            "(map them with data.splits.train=... data.splits.valid=... data.splits.test=...)"
        )
    languages = sorted(found[names["train"]])
    wanted = list(settings.get("languages") or languages)
    for ours, theirs in names.items():
        for lang in wanted:
            if lang not in found[theirs]:
                raise PlugmtError(
                    f"language {lang!r} has no {theirs}.{lang} in {folder} (split {ours}); "
                    f"{theirs} has: {', '.join(sorted(found[theirs]))}"
                )
    splits = {}
    for ours, theirs in names.items():
        columns = {lang: read_lines(found[theirs][lang]) for lang in wanted}
        counts = {lang: len(lines) for lang, lines in columns.items()}
        if len(set(counts.values())) > 1:
            fewest = min(counts, key=counts.get)
            most = max(counts, key=counts.get)
            raise PlugmtError(
                f"{found[theirs][fewest]} has {counts[fewest]} lines but {found[theirs][most]} has "
                f"{counts[most]}; "
                "parallel files must be line-aligned"
            )
        keep = [i for i in range(min(counts.values())) if all(columns[lang][i] for lang in wanted)]
        dropped = min(counts.values()) - len(keep)
        if dropped:
            log.warning(f"{theirs}: skipped {dropped} line(s) empty in at least one language")
        splits[ours] = {lang: [columns[lang][i] for i in keep] for lang in wanted}
        splits[ours]["group"] = length_groups(splits[ours], wanted)
    return splits, wanted


def length_groups(columns: Mapping[str, list[str]], languages: list[str]) -> list[str]:
    """A length band per row (mean characters over its languages), so batches hold similar lengths."""
    rows = len(columns[languages[0]]) if languages else 0
    lengths = [sum(len(columns[lang][i]) for lang in languages) // len(languages) for i in range(rows)]
    return [f"len{min(n // GROUP_WIDTH, 8)}" for n in lengths]
