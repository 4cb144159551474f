"""Weights as plain arrays: their fingerprint, and NumPy `.npz` files that never need pickle.

A module's identity is the fingerprint of its weights, so the store, the bundles and the loaders
all read and hash weights through these few functions and cannot disagree about it.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from plugmt.errors import PlugmtError


def weight_arrays(layer: Any) -> list[np.ndarray]:
    return [np.asarray(w.numpy()) for w in layer.weights]


def fingerprint(arrays: list[np.ndarray]) -> str:
    """SHA-256 over every weight's dtype, shape and bytes, in order: equal iff the weights are."""
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def npz_bytes(arrays: list[np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **{f"w{i:04d}": a for i, a in enumerate(arrays)})
    return buffer.getvalue()


def read_npz(data: bytes, where: str) -> list[np.ndarray]:
    """The arrays of an `.npz` (in saved order), refused if any would need pickle to read.

    `allow_pickle=False` makes NumPy refuse object arrays; the dtype check also refuses any
    structured dtype hiding an object field, and every member must be a plain `w0000.npy` array.
    """
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            names = sorted(archive.files)
            expected = [f"w{i:04d}" for i in range(len(names))]
            if names != expected:
                raise PlugmtError(f"weights file {where} holds unexpected members ({', '.join(names[:3])}…)")
            arrays = [archive[name] for name in names]
    except PlugmtError:
        raise
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise PlugmtError(f"cannot read weights file {where} without pickle: {reason}") from None
    if any(a.dtype.hasobject for a in arrays):
        raise PlugmtError(f"weights file {where} holds object arrays, which only pickle can read; refused")
    return arrays


def assign_weights(layer: Any, data: bytes, where: str | Path) -> None:
    arrays = read_npz(data, str(where))
    if [a.shape for a in arrays] != [tuple(w.shape) for w in layer.weights]:
        raise PlugmtError(f"weights file {where} does not match its config.json (shapes differ)")
    for variable, array in zip(layer.weights, arrays, strict=True):
        variable.assign(array)
