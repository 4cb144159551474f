"""Process set-up shared by every command: a quiet TensorFlow, seeds, the store location."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


def quiet_tensorflow() -> None:
    """Import TensorFlow with its C++ start-up chatter (CUDA probes, CPU flags) swallowed.

    No environment variable silences all of it, so stderr's file descriptor is pointed at a
    scratch file while TensorFlow starts; if the start fails, what it said is shown after all.
    """
    if "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as scratch:
        os.dup2(scratch.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()  # the CUDA probe happens here, still muted
            # oneDNN says once per process, at the first op on booleans it has a kernel for (Keras
            # transposes an LSTM's mask), that it leaves DT_BOOL to Eigen on this CPU; some AVX-512
            # machines say it too. Said here, into the scratch file, it is never said again.
            tf.transpose(tf.zeros([1, 1], tf.bool))
        except Exception:
            os.dup2(saved, 2)
            scratch.seek(0)
            sys.stderr.write(scratch.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    import logging

    # Its Python-side warnings (e.g. the retracing heuristic, which counts every new Pipeline) are
    # not for plugmt's users; real errors still show.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)


def version_line(program: str = "plugmt") -> str:
    """plugmt's version and TensorFlow's, read from the installed metadata (TensorFlow not imported)."""
    from importlib import metadata

    import plugmt

    tensorflow = "not installed"
    for name in ("tensorflow", "tensorflow-cpu", "tensorflow-macos", "tf-nightly"):
        try:
            tensorflow = metadata.version(name)
            break
        except metadata.PackageNotFoundError:
            continue
    return (
        f"{program} (plugmt) {plugmt.__version__}; TensorFlow {tensorflow}; Python {sys.version.split()[0]}"
    )


def print_version(program: str = "plugmt") -> None:
    print(version_line(program))


def store_path(configured: str | None) -> Path | str:
    """Config `store`, else $PLUGMT_STORE, else ./store; a URL (``memory://x``, ``s3://...``) as is."""
    location = str(configured or os.environ.get("PLUGMT_STORE") or "store")
    if "://" in location:
        return location
    return Path(location).expanduser().resolve()
