"""Every row of docs/BAD_INPUT.md, run: one `plugmt: error:` line, exit status 2, no traceback.

The table is the source: a row added there is tested here. Phrasebook commands get two extra years
settings (a two-year corpus) so the rows run in seconds; nothing else is added.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import rehash

from plugmt.storage.module import sealed

TABLE = Path(__file__).resolve().parent.parent / "docs" / "BAD_INPUT.md"
SMALL_PHRASEBOOK = ["data.first_year=2000", "data.last_year=2001"]


def _cell(text: str) -> str:
    """A Markdown code cell's text (single or double backticks)."""
    return text.strip().strip("`").strip()


def table_rows() -> list[tuple[int, str, str, str]]:
    rows = []
    for line in TABLE.read_text().splitlines():
        match = re.match(r"^\| (\d+) \| (.*?) \| (`.*`) \| (`.*`) \|$", line)
        if match:
            number, mistake, command, message = match.groups()
            rows.append((int(number), mistake, _cell(command), _cell(message)))
    return rows


def _pattern(message: str) -> re.Pattern:
    return re.compile("^" + ".*".join(re.escape(part) for part in message.split("…")) + "$")


@pytest.fixture(scope="module")
def places(trained, tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("bad-input")
    store = root / "store"
    shutil.copytree(trained["store"].root, store)
    (root / "empty").mkdir()

    def folder(name: str, faults: dict[str, bytes] | None = None) -> str:
        path = root / name
        path.mkdir()
        for split, n in (("train", 8), ("val", 2), ("test", 3)):
            for lang, words in (("en", "a dog number"), ("de", "ein Hund Nummer"), ("fr", "un chien")):
                (path / f"{split}.{lang}").write_text("".join(f"{words} {i}\n" for i in range(n)))
        for file, content in (faults or {}).items():
            if content:
                (path / file).write_bytes(content)
            else:
                (path / file).unlink()
        return str(path)

    (root / "junk.tar.gz").write_text("not an archive")
    bad = root / "badstudy" / "0"  # a multirun whose one job left a matrix.json of the wrong shape
    (bad / ".hydra").mkdir(parents=True)
    (bad / ".hydra" / "overrides.yaml").write_text("- seed=0\n")
    cell = {"src": "en", "tgt": "fr", "kind": "supervised", "exact": 1.0}
    (bad / "matrix.json").write_text(json.dumps({"cells": [cell], "thought_diagnostics": 5}))
    study = root / "failedstudy"  # a multirun whose two jobs both failed
    for job, matrix in (("0", None), ("1", "{not json")):
        (study / job / ".hydra").mkdir(parents=True)
        (study / job / ".hydra" / "overrides.yaml").write_text(f"- seed={job}\n")
        if matrix is not None:
            (study / job / "matrix.json").write_text(matrix)
    return {
        **_hostile(root, trained),
        "store": str(store),
        "empty": str(root / "empty"),
        "tmp": str(root),
        "files": folder("files"),
        "uneven": folder("uneven", {"train.de": b"ein\nzwei\n"}),
        "gap": folder("gap", {"val.fr": b""}),
        "badutf8": folder("badutf8", {"train.fr": b"un\ndeux\n\xff\xfe trois\n" + b"x\n" * 5}),
        "junk": str(root / "junk.tar.gz"),
        "failedstudy": str(study),
        "badstudy": str(root / "badstudy"),
        "encoder": trained["encoder"].id,
    }


def _hostile(root: Path, trained) -> dict[str, str]:
    """Hostile modules: bundles of the es decoder with one field changed (checksums made to agree,
    so only the validator can refuse them), and a store copy whose es decoder's weights hold NaN."""
    import io
    import tarfile

    import numpy as np

    from plugmt.storage.bundles import export_bundle

    with tarfile.open(export_bundle(trained["store"], trained["plugged"], root / "es.tar.gz")) as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar}

    def bundle(name: str, meta_change=None, settings_change=None) -> str:
        meta, config = json.loads(files["meta.json"]), json.loads(files["config.json"])
        (meta_change or (lambda m: None))(meta)
        (settings_change or (lambda s: None))(config["settings"])
        changed = rehash({**files, "config.json": json.dumps(config).encode()}, meta)
        path = root / f"{name}.tar.gz"
        with tarfile.open(path, "w:gz") as tar:
            for entry_name, data in changed.items():
                entry = tarfile.TarInfo(entry_name)
                entry.size = len(data)
                tar.addfile(entry, io.BytesIO(data))
        return str(path)

    nanstore = root / "nanstore"
    shutil.copytree(trained["store"].root, nanstore)
    folder = nanstore / trained["plugged"].key
    with np.load(folder / "weights.npz") as archive:
        arrays = [archive[n] for n in sorted(archive.files)]
    arrays[0] = arrays[0].copy()
    arrays[0].flat[0] = np.nan
    buffer = io.BytesIO()
    np.savez(buffer, **{f"w{i:04d}": a for i, a in enumerate(arrays)})
    (folder / "weights.npz").write_bytes(buffer.getvalue())
    meta = json.loads((folder / "meta.json").read_text())
    meta["files"]["weights.npz"] = hashlib.sha256(buffer.getvalue()).hexdigest()
    (folder / "meta.json").write_text(json.dumps(sealed(meta)))
    return {
        "longbundle": bundle("long", lambda m: m.update(max_len=10**9)),
        "futurebundle": bundle("future", lambda m: m.update(created="9999-12-31T00:00:00Z")),
        "secretbundle": bundle("secret", settings_change=lambda s: s.update(units="${oc.env:HOME}")),
        "nofilesbundle": bundle("nofiles", lambda m: m.pop("files")),
        "nanstore": str(nanstore),
    }


# Runs commands one after another in one process, as the console scripts would, and reports
# (exit status, stderr) for each: one TensorFlow start-up for the whole table instead of one per row.
RUNNER = """
import contextlib, io, json, sys
from plugmt.cli import apps as cli, store_cli as registry_cli
from plugmt.cli import study_cli as study
results = []
from hydra.core.config_store import ConfigStore
for argv in json.load(sys.stdin):
    sys.argv = list(argv)
    if argv[0] in ("plugmt-translate", "plugmt-export"):  # as in their own process: no schema groups
        for group in ("encoder", "decoder"):
            ConfigStore.instance().repo.pop(group, None)
    captured = io.StringIO()
    status = 0
    with contextlib.redirect_stderr(captured):
        try:
            if argv[0] == "plugmt-registry":
                registry_cli.main(argv[1:])
            elif argv[0] == "plugmt-study":
                study.main(argv[1:])
            else:
                getattr(cli, argv[0].removeprefix("plugmt-") + "_main")()
        except SystemExit as stop:
            status = stop.code if isinstance(stop.code, int) else 1
        except BaseException as error:  # a traceback would have reached the user
            status, captured = 99, io.StringIO("Traceback: " + repr(error))
    results.append([status, captured.getvalue()])
print(json.dumps(results))
"""


def _argv(command: str, places: dict[str, str]) -> list[str]:
    argv = shlex.split(command.format(**places))
    program, args = argv[0], argv[1:]
    phrasebook = program in ("plugmt-train", "plugmt-run", "plugmt-eval") and not any(
        a.startswith(("data=", "data.first_year", "experiment=")) for a in args
    )
    return [program, *args, *(SMALL_PHRASEBOOK if phrasebook else [])]


def _run_all(commands: list[list[str]], cwd: Path) -> list[tuple[int, str]]:
    env = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", RUNNER],
        input=json.dumps(commands),
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return [tuple(r) for r in json.loads(result.stdout.strip().splitlines()[-1])]


@pytest.fixture(scope="module")
def outcomes(places, tmp_path_factory) -> dict[int, tuple[int, str]]:
    """Every row's (exit status, stderr). plugmt-translate and plugmt-export run in a process of
    their own: there `decoder=` is a plain key, which the architecture schemas of the other apps
    would capture."""
    rows = table_rows()
    cwd = tmp_path_factory.mktemp("cwd")
    found: dict[int, tuple[int, str]] = {}
    for translate in (False, True):
        chosen = [r for r in rows if r[2].startswith(("plugmt-translate", "plugmt-export")) == translate]
        results = _run_all([_argv(r[2], places) for r in chosen], cwd)
        found.update({r[0]: result for r, result in zip(chosen, results, strict=True)})
    return found


def test_the_table_has_at_least_thirty_rows_numbered_in_order():
    """Rows 1-59 run in order without gaps; later rows are numbered from 60 and from 101 up."""
    numbers = [row[0] for row in table_rows()]
    assert len(numbers) >= 30 and numbers == sorted(set(numbers))
    assert numbers[:59] == list(range(1, 60))


@pytest.mark.parametrize(("number", "mistake", "command", "message"), table_rows(), ids=lambda v: str(v)[:40])
def test_each_mistake_gets_its_one_line(number, mistake, command, message, outcomes):
    status, stderr = outcomes[number]
    errors = [line for line in stderr.splitlines() if line.startswith("plugmt: error: ")]
    assert "Traceback" not in stderr, stderr
    assert status == 2 and len(errors) == 1, stderr[-2000:]
    assert stderr.strip().splitlines()[-1] == errors[0], "the error must be the last line, whole"
    dump = os.environ.get("PLUGMT_BAD_INPUT_DUMP")
    if dump:  # for maintainers writing the table: the message each row really got
        with open(dump, "a") as out:
            out.write(json.dumps({"number": number, "message": errors[0]}) + "\n")
    assert _pattern(message).match(errors[0]), errors[0]


def _contents(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


def test_no_mistake_touched_the_store(outcomes, places, trained):
    """Every row that named {store} was refused before writing: the copy is still the original."""
    assert _contents(Path(places["store"])) == _contents(Path(trained["store"].root))
