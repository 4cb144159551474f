"""A process SIGKILLed in the middle of importing, saving or removing a module leaves a store that
verifies intact, lists cleanly (no warning), and takes the same operation again.

Each kill lands at a chosen point of the write (after some files, before the rename that publishes,
after the rename that removes, in the middle of deleting): the operation runs in a forked child whose
`os.fsync`, `os.rename` or `shutil.rmtree` kills the child at that point.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from plugmt.cli import store_cli as registry_cli
from plugmt.registry import check_stored_architecture, typed_config
from plugmt.storage import Store
from plugmt.storage.bundles import export_bundle, import_bundle
from plugmt.thought import ThoughtSpec

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="kills a forked child (POSIX)")


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def on_call(number: int, original: Callable) -> Callable:
    """`original`, except that its `number`-th call kills the process first."""
    calls = {"n": 0}

    def patched(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == number:
            _die()
        return original(*args, **kwargs)

    return patched


def half_then_die(path, *args, **kwargs) -> None:
    """shutil.rmtree that deletes some of the files, then dies."""
    files = sorted(p for p in Path(path).rglob("*") if p.is_file())
    for file in files[: max(1, len(files) // 2)]:
        file.unlink()
    _die()


def killed(action: Callable[[], object], module: object, name: str, replacement: Callable) -> None:
    """Run `action` in a forked child with `module.name` replaced; it must die by SIGKILL there."""
    sys.stdout.flush(), sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            setattr(module, name, replacement)
            action()
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, "the kill point was not reached"


def listing(root: Path) -> list[str]:
    store = Store(root)
    return sorted(m.id for m in store.encoders() + store.decoders())


def assert_clean(root: Path, expected: list[str], capsys) -> None:
    """`verify` calls every module intact, and the listing is `expected`, with no warning."""
    capsys.readouterr()
    registry_cli.main(["--store", str(root), "verify"])
    out, err = capsys.readouterr()
    assert out.splitlines()[-1] == f"{len(expected)} of {len(expected)} modules intact", out
    assert listing(root) == expected
    assert capsys.readouterr().err == "" and err == ""


class Loaded:
    """A stored decoder's weights held as plain arrays: what `save_decoder` needs of a layer."""

    def __init__(self, folder: Path) -> None:
        config = json.loads((folder / "config.json").read_text())
        self.config = typed_config("decoder", config["settings"])
        self.vocab_size = config["vocab_size"]
        self.thought = ThoughtSpec.from_json(config["thought"])
        with np.load(io.BytesIO((folder / "weights.npz").read_bytes())) as archive:
            self.arrays = [archive[n] for n in sorted(archive.files)]
        self.model_bytes = (folder / "vocab.model").read_bytes()

    @property
    def weights(self) -> list:
        return [type("W", (), {"numpy": lambda self, a=a: a})() for a in self.arrays]


@pytest.fixture
def store_without_es(trained, tmp_path):
    """A copy of the trained store without its plugged es decoder, and that decoder as a bundle."""
    bundle = export_bundle(trained["store"], trained["plugged"], tmp_path / "es.tar.gz")
    shutil.copytree(trained["store"].root, tmp_path / "store")
    store = Store(tmp_path / "store")
    store.remove(store.find(trained["plugged"].id))
    return tmp_path / "store", bundle


@pytest.mark.parametrize("point", ["after two files", "before the rename"])
def test_a_killed_import_leaves_the_store_as_it_was(point, store_without_es, capsys):
    root, bundle = store_without_es
    before = listing(root)
    replace = (
        (os, "fsync", on_call(2, os.fsync))
        if point == "after two files"
        else (os, "rename", on_call(1, os.rename))
    )

    def action():
        import_bundle(Store(root), bundle, check_stored_architecture)

    killed(action, *replace)
    assert any(p.name.startswith(".tmp-") for p in root.rglob(".*"))  # what the kill left, hidden
    assert_clean(root, before, capsys)
    module = import_bundle(Store(root), bundle, check_stored_architecture)
    assert_clean(root, sorted([*before, module.id]), capsys)


@pytest.mark.parametrize("point", ["after three files", "before the rename"])
def test_a_killed_save_stores_nothing_and_the_next_save_works(point, trained, tmp_path, capsys):
    shutil.copytree(trained["store"].root, tmp_path / "store")
    root = tmp_path / "store"
    store = Store(root)
    encoder = store.encoder()
    stored = store.find(trained["plugged"].id)
    layer = Loaded(stored.path)
    before = listing(root)
    replace = (
        (os, "fsync", on_call(3, os.fsync))
        if point == "after three files"
        else (os, "rename", on_call(1, os.rename))
    )

    def action():
        Store(root).save_decoder(layer, layer, encoder, dict(stored.meta))

    killed(action, *replace)
    assert_clean(root, before, capsys)
    saved = Store(root).save_decoder(layer, layer, encoder, dict(stored.meta))
    assert saved.meta["fingerprint"] == stored.meta["fingerprint"]
    assert_clean(root, sorted([*before, saved.id]), capsys)


@pytest.mark.parametrize("point", ["after the rename aside", "while deleting"])
def test_a_killed_remove_leaves_the_module_gone_or_whole(point, trained, tmp_path, capsys):
    shutil.copytree(trained["store"].root, tmp_path / "store")
    root = tmp_path / "store"
    gone = trained["plugged"].id
    before = listing(root)
    dying = on_call(1, shutil.rmtree) if point == "after the rename aside" else half_then_die

    def action():
        store = Store(root)
        store.remove(store.find(gone))

    killed(action, shutil, "rmtree", dying)
    # The rename aside is the one step that removes: the module is gone, the rest intact.
    assert_clean(root, [m for m in before if m != gone], capsys)
    decoder = Store(root).decoders(lang="de")[0]
    registry_cli.main(["--store", str(root), "remove", decoder.id])  # the next remove works
    assert_clean(root, [m for m in before if m not in (gone, decoder.id)], capsys)
