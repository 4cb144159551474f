"""One way to write a file or a folder so that it appears whole or not at all."""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(target: Path, replace_folder: bool = False) -> Iterator[Path]:
    """A temporary path beside `target` to write a file or a folder to; when the block ends without
    an error it becomes `target` in one rename (an existing file replaced; an existing folder only
    with `replace_folder`), and an error or a kill leaves no partial `target` (the temporary is
    removed; a killed run's `.tmp-*` stays hidden)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.parent / f".tmp-{target.name}-{uuid.uuid4().hex[:8]}"
    try:
        yield temporary
        if replace_folder and target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        os.replace(temporary, target)
    finally:
        if temporary.is_dir():
            shutil.rmtree(temporary, ignore_errors=True)
        else:
            temporary.unlink(missing_ok=True)
