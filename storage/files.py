"""Where a store's bytes live: a local folder, or any fsspec URL (``memory://``, ``s3://``, ...).

The store only ever asks for a few things (list module folders, read a file, publish a whole module,
remove one, hold the store lock), so both places implement exactly those. A local folder keeps the
strong guarantees of one filesystem: a module is written into a hidden temporary folder, fsynced and
renamed into place, and a removed one is renamed aside before it is deleted, so a reader sees a whole
module or none. Object stores have no rename, so there ``meta.json`` is written last and removed
first: a folder without it is a module still arriving (or leaving) and is not listed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from filelock import ReadWriteLock, Timeout

from plugmt.errors import PlugmtError

MARKER = "meta.json"  # written last, removed first: its presence makes a folder a module
LOCK_NAME = ".lock"
USE_LOCKS = ".locks"  # <name>.lock: held shared while a run uses a module (`use`, `in_use`)
# A write takes seconds; a hidden temporary (or removed) folder older than this was left by a
# killed process, and the next write into its folder deletes it.
STALE_SECONDS = 3600


class StoreFiles(Protocol):
    """The handful of operations the store needs from wherever it lives."""

    root: Path | str

    def where(self, key: str) -> Path | PurePosixPath: ...
    def url(self, key: str) -> str: ...
    def folders(self, pattern: str) -> list[str]: ...
    def read(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...
    def publish(self, key: str, files: Mapping[str, bytes]) -> bool: ...
    def remove(self, key: str) -> None: ...
    def lock(self, exclusive: bool) -> contextlib.AbstractContextManager[None]: ...
    def use(self, name: str) -> contextlib.AbstractContextManager[None]: ...
    def in_use(self, name: str) -> bool: ...
    def check_writable(self) -> None: ...


def open_files(root: str | os.PathLike[str]) -> StoreFiles:
    """A local path or ``file://`` URL stays on the fast, atomic local route; other URLs use fsspec."""
    text = os.fspath(root)
    if "://" not in text:
        return LocalFiles(Path(text).expanduser())
    if text.startswith("file://"):
        return LocalFiles(Path(text[len("file://") :]).expanduser())
    return RemoteFiles(text)


def _hidden(key: str) -> bool:
    return any(part.startswith(".") for part in key.split("/"))


class LocalFiles:
    def __init__(self, root: Path) -> None:
        self.root = root

    def where(self, key: str) -> Path:
        return self.root / key

    def url(self, key: str) -> str:
        return str(self.root / key)

    def folders(self, pattern: str) -> list[str]:
        if not self.root.is_dir():
            return []
        found = (p.relative_to(self.root).as_posix() for p in self.root.glob(pattern) if p.is_dir())
        return sorted(key for key in found if not _hidden(key))

    def read(self, key: str) -> bytes:
        return (self.root / key).read_bytes()

    def exists(self, key: str) -> bool:
        return (self.root / key).exists()

    def publish(self, key: str, files: Mapping[str, bytes]) -> bool:
        """Write the module folder `key` atomically; False if one is already there (nothing written)."""
        final = self.root / key
        final.parent.mkdir(parents=True, exist_ok=True)
        _clean_stale(final.parent)
        temporary = final.parent / f".tmp-{final.name}-{uuid.uuid4().hex[:8]}"
        temporary.mkdir()
        try:
            for name in sorted(files, key=lambda n: n == MARKER):
                with open(temporary / name, "wb") as handle:
                    handle.write(files[name])
                    handle.flush()
                    os.fsync(handle.fileno())
            try:
                os.rename(temporary, final)
            except OSError as error:
                if error.errno in (errno.ENOTEMPTY, errno.EEXIST):
                    return False
                raise
            _fsync_folder(final.parent)
            return True
        finally:
            shutil.rmtree(temporary, ignore_errors=True)

    def remove(self, key: str) -> None:
        """Rename aside (one atomic step readers can observe), then delete at leisure."""
        final = self.root / key
        aside = final.parent / f".removed-{final.name}-{uuid.uuid4().hex[:8]}"
        os.rename(final, aside)
        _fsync_folder(final.parent)
        shutil.rmtree(aside, ignore_errors=True)

    @contextlib.contextmanager
    def lock(self, exclusive: bool) -> Iterator[None]:
        """A reader/writer lock on ``<root>/.lock``: saves share it, `remove` holds it alone."""
        self.root.mkdir(parents=True, exist_ok=True)
        with _held(self.root / LOCK_NAME, exclusive):
            yield

    @contextlib.contextmanager
    def use(self, name: str) -> Iterator[None]:
        """A shared hold on ``<root>/.locks/<name>.lock`` for as long as the block runs."""
        folder = self.root / USE_LOCKS
        folder.mkdir(parents=True, exist_ok=True)
        with _held(folder / f"{name}.lock", exclusive=False):
            yield

    def in_use(self, name: str) -> bool:
        """Whether some process holds `use(name)` right now."""
        path = self.root / USE_LOCKS / f"{name}.lock"
        if not path.exists():
            return False
        try:
            with _held(path, exclusive=True, wait=False):
                return False
        except Timeout:
            return True

    def check_writable(self) -> None:
        """The store is (or can become) a folder this process writes: checked by writing."""
        if self.root.exists() and not self.root.is_dir():
            raise PlugmtError(f"store={self.root} is a file, not a folder; point store= at a folder")
        # The store, or the folder it will be made in (nothing is left behind by the check).
        existing = next(p for p in (self.root, *self.root.parents) if p.exists())
        if not existing.is_dir():
            raise PlugmtError(f"store={self.root} is inside {existing}, a file; point store= at a folder")
        try:
            probe = existing / f".tmp-probe-{uuid.uuid4().hex[:8]}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as error:
            raise PlugmtError(
                f"store={self.root} cannot be written ({error.strerror or error}); trained modules "
                "could not be saved: fix its permissions or point store= at a writable folder"
            ) from None


@contextlib.contextmanager
def _held(path: Path, exclusive: bool, wait: bool = True) -> Iterator[None]:
    """filelock's reader/writer lock (SQLite, so it works wherever Python does, Windows included;
    the operating system drops it when its process dies). `wait=False`: Timeout if it is taken."""
    # Created here with the umask's permissions: SQLite would make it 0600, and the other users of a
    # store shared by a group could then take no lock on it.
    with contextlib.suppress(OSError):
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o666))
    lock = ReadWriteLock(str(path), is_singleton=False)
    try:
        with lock.write_lock(blocking=wait) if exclusive else lock.read_lock(blocking=wait):
            yield
    finally:
        lock.close()


def _clean_stale(folder: Path) -> None:
    """Delete hidden temporary and removed-aside folders a killed write or remove left behind."""
    limit = time.time() - STALE_SECONDS
    for path in folder.glob(".*"):
        if not path.name.startswith((".tmp-", ".removed-")):
            continue
        try:
            if path.is_dir() and path.stat().st_mtime < limit:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            pass


def _fsync_folder(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class RemoteFiles:
    """A store behind an fsspec URL. There is no cross-host lock: rely on unique module names."""

    def __init__(self, url: str) -> None:
        import fsspec

        self.root = url.rstrip("/")
        self.fs: Any
        self.fs, self.base = fsspec.core.url_to_fs(self.root)
        self.base = self.base.rstrip("/")

    def where(self, key: str) -> PurePosixPath:
        return PurePosixPath(self.base) / key

    def url(self, key: str) -> str:
        return f"{self.root}/{key}"

    def folders(self, pattern: str) -> list[str]:
        if not self.fs.exists(self.base):
            return []
        keys = []
        for path in self.fs.glob(f"{self.base}/{pattern}"):
            key = str(path).strip("/")[len(self.base.strip("/")) :].strip("/")
            if not _hidden(key) and self.fs.isdir(path) and self.fs.exists(f"{path}/{MARKER}"):
                keys.append(key)
        return sorted(keys)

    def read(self, key: str) -> bytes:
        return self.fs.cat_file(f"{self.base}/{key}")

    def exists(self, key: str) -> bool:
        return self.fs.exists(f"{self.base}/{key}")

    def publish(self, key: str, files: Mapping[str, bytes]) -> bool:
        folder = f"{self.base}/{key}"
        if self.fs.exists(f"{folder}/{MARKER}"):
            return False
        for name in sorted(files, key=lambda n: n == MARKER):
            self.fs.pipe_file(f"{folder}/{name}", files[name])
        return True

    def remove(self, key: str) -> None:
        folder = f"{self.base}/{key}"
        self.fs.rm_file(f"{folder}/{MARKER}")
        self.fs.rm(folder, recursive=True)

    def lock(self, exclusive: bool) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    def use(self, name: str) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    def in_use(self, name: str) -> bool:
        return False

    def check_writable(self) -> None:
        """A `memory://` store lives only as long as this process: training into it would lose
        every module it stores, so it is refused. Any other URL is checked by writing (and
        deleting) a hidden probe file, so a read-only or unreachable store fails before training."""
        if self.root.startswith("memory://"):
            raise PlugmtError(
                f"store={self.root} keeps modules only in this process's memory, so what training "
                "stores would vanish when it ends; train into a folder or a lasting URL (store=...)"
            )
        probe = f"{self.base}/.tmp-probe-{uuid.uuid4().hex[:8]}"
        try:
            self.fs.pipe_file(probe, b"")
            self.fs.rm_file(probe)
        except Exception as error:  # fsspec backends raise their own kinds; all mean "cannot write"
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise PlugmtError(
                f"store={self.root} cannot be written ({reason}); trained modules could not be saved: "
                "check its credentials and permissions or point store= at a writable store"
            ) from None
