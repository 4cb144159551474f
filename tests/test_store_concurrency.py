"""Eight processes saving into one store at the same moment: every decoder lands, whole and listed."""

import os
import subprocess
import sys
import time
from pathlib import Path

from plugmt.storage import Store

# Tiny stand-ins for a trained layer and its vocabulary: the store only reads these attributes, so
# the writers need neither TensorFlow nor training and the race window stays the store's own.
WRITER = """
import sys, time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from plugmt.storage import Store


@dataclass
class Settings:
    name: str = "lstm"


class Spec:
    def to_json(self):
        return {"kind": "vector", "width": 2}


class Weight:
    def __init__(self, array):
        self.array = array

    def numpy(self):
        return self.array


class Vocab:  # a real SentencePiece model: the store checks every module it hands out
    model_bytes = Path(sys.argv[3]).read_bytes()


class Layer:
    config, vocab_size, thought = Settings(), 8, Spec()
    weights = [Weight(np.ones((8, 2), np.float32))]  # equal in every writer: ids must still differ

    def thought_spec(self):
        return Spec()


root, go = sys.argv[1], Path(sys.argv[2])
while not go.exists():
    time.sleep(0.005)
store = Store(root)
encoder = store.save_encoder(Layer(), Vocab(), {"languages": ["en"]})
record = {"lang": "cs", "pairs": [["en", "cs"]], "max_len": 8}  # what a valid decoder records
decoder = store.save_decoder(Layer(), Vocab(), encoder, record)
print(decoder.id)
"""


def test_eight_concurrent_writers_lose_nothing(tmp_path):
    from plugmt.corpora.vocab import Vocab

    root, go, model = tmp_path / "store", tmp_path / "go", tmp_path / "vocab.model"
    model.write_bytes(Vocab.cached(["abc ab a"], "char", 8, tmp_path).model_bytes)
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(root), str(go), str(model)],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    time.sleep(1.0)  # let them all import and wait at the line
    go.touch()
    results = [writer.communicate(timeout=120) for writer in writers]
    assert [w.returncode for w in writers] == [0] * 8, [err for _, err in results]
    saved = {out.strip() for out, _ in results}
    assert len(saved) == 8

    store = Store(root)
    assert len(store.encoders()) == 1  # eight saves of one encoder: one module, no error
    listed = store.decoders()
    assert {d.id for d in listed} == saved
    for module in [*store.encoders(), *listed]:
        store.verify(module)
    assert list(Path(root).rglob(".tmp-*")) == [] and list(Path(root).rglob(".removed-*")) == []


def test_lock_files_follow_the_umask_so_a_shared_store_can_be_locked_by_its_group(tmp_path):
    """SQLite (filelock's reader/writer lock) would create them 0600, and another user of a store
    shared by a group could then take no lock on it."""
    from plugmt.storage.files import LOCK_NAME, USE_LOCKS, LocalFiles

    files = LocalFiles(tmp_path / "store")
    old = os.umask(0o002)
    try:
        with files.lock(exclusive=False), files.use("lstm-abc"):
            assert files.in_use("lstm-abc")
    finally:
        os.umask(old)
    for path in (tmp_path / "store" / LOCK_NAME, tmp_path / "store" / USE_LOCKS / "lstm-abc.lock"):
        assert path.stat().st_mode & 0o777 == 0o664, (path, oct(path.stat().st_mode))
    assert not files.in_use("lstm-abc")
