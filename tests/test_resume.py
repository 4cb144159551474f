"""Resumable training: a stage stopped part-way and re-run ends where an uninterrupted run ends."""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from plugmt.corpora.batches import MultiTargetBatches
from plugmt.registry import load_decoder, load_encoder
from plugmt.storage import Store
from plugmt.storage.weights import weight_arrays
from plugmt.training.checkpoints import RUNS

RESUME = ("train.steps=10", "train.checkpoint_every=4", "train.log_every=3", "data.pairs=[en-fr,fr-en,en-de]")


def stored_weights(store: Store) -> tuple[dict[str, list[np.ndarray]], list[float]]:
    """Encoder and newest decoder per language, as arrays; and the joint stage's loss history."""
    module = store.encoder()
    encoder, _ = load_encoder(store, module)
    weights = {"encoder": weight_arrays(encoder)}
    for decoder in store.decoders(module.id):  # oldest first: the newest per language wins
        store.verify(decoder)
        weights[decoder.meta["lang"]] = weight_arrays(load_decoder(store, decoder, encoder.thought_spec())[0])
    return weights, module.meta["training"]["loss"]


def largest_difference(a: dict[str, list[np.ndarray]], b: dict[str, list[np.ndarray]]) -> float:
    assert a.keys() == b.keys()
    return max(float(np.max(np.abs(x - y))) for k in a for x, y in zip(a[k], b[k], strict=True))


def killed(*args: object) -> None:
    raise KeyboardInterrupt("killed")


def crash_after(monkeypatch: pytest.MonkeyPatch, batches: int) -> None:
    """The batch stream dies on its `batches`-th draw, as a killed process would stop there."""
    original = MultiTargetBatches.__next__
    drawn = {"n": 0}

    def next_or_die(self):
        drawn["n"] += 1
        if drawn["n"] == batches:
            raise KeyboardInterrupt("killed")
        return original(self)

    monkeypatch.setattr(MultiTargetBatches, "__next__", next_or_die)


@pytest.fixture(scope="module")
def uninterrupted(compose, tmp_path_factory):
    from plugmt.training.stages import train_joint

    root = tmp_path_factory.mktemp("uninterrupted")
    train_joint(compose(f"store={root}", *RESUME), Store(root))
    return (*stored_weights(Store(root)), root)


def test_a_stage_stopped_part_way_resumes_to_the_same_weights_and_losses(
    compose, uninterrupted, tmp_path, monkeypatch, caplog
):
    from plugmt.training import stages as training
    from plugmt.training.stages import train_joint

    cfg = compose(f"store={tmp_path}", *RESUME)
    with monkeypatch.context() as patch:
        crash_after(patch, 7)  # checkpointed at step 4, killed during step 7
        with pytest.raises(KeyboardInterrupt):
            train_joint(cfg, Store(tmp_path))
    assert Store(tmp_path).encoders() == []
    assert any((tmp_path / RUNS).iterdir())
    caplog.set_level(logging.INFO, logger="plugmt.train")
    with monkeypatch.context() as patch:
        # Killed again, now between storing the modules and deleting the run folder.
        patch.setattr(training, "remove_run", killed)
        with pytest.raises(KeyboardInterrupt):
            train_joint(cfg, Store(tmp_path))
    assert "resuming joint from step 4" in caplog.text
    # A resumed stage's progress lines carry an ETA too (its pace is this attempt's steps).
    line = r"joint step 6/10 · loss .* · ETA (\d+s|\d+m\d\ds|\d+h\d\dm)\n"
    assert re.search(line, caplog.text), caplog.text
    first = sorted(m.id for m in Store(tmp_path).decoders())
    assert len(first) == 3 and (tmp_path / RUNS).exists()
    _, again = train_joint(cfg, Store(tmp_path))  # resumes at the end: no twins of its decoders
    assert sorted(m.id for m in again) == sorted(m.id for m in Store(tmp_path).decoders()) == first
    weights, losses = stored_weights(Store(tmp_path))
    assert largest_difference(weights, uninterrupted[0]) < 1e-5
    np.testing.assert_allclose(losses, uninterrupted[1], atol=1e-4)
    assert not (tmp_path / RUNS).exists()  # the run folder goes once the modules are stored


def test_a_resumed_stage_selects_from_every_validation(compose, tmp_path, monkeypatch):
    """With validate_every, the validations before a kill survive it: the resumed run records all
    of them and selects among them (tests/test_monitor.py checks the best weights come back), the
    last validated weights (train.average_last) included."""
    from plugmt.training.stages import train_joint

    cfg = compose(
        f"store={tmp_path}", *RESUME, "train.validate_every=3", "train.eval_items=8", "train.average_last=2"
    )
    with monkeypatch.context() as patch:
        crash_after(patch, 8)  # validated at 3 and 6, checkpointed at 4, killed during step 8
        with pytest.raises(KeyboardInterrupt):
            train_joint(cfg, Store(tmp_path))
    saved = sorted(p.name for p in (tmp_path / RUNS).glob("*/*.npz"))
    assert saved == ["best-step-3.npz", "recent-to-step-3.npz"]
    train_joint(cfg, Store(tmp_path))
    record = Store(tmp_path).encoder().meta["training"]
    assert [v[0] for v in record["validations"]] == [3, 6, 9, 10]
    assert record["selected_step"] in (3, 6, 9, 10)
    assert record["averaged_steps"] in (None, [9, 10])


def test_resume_false_starts_afresh(compose, uninterrupted, tmp_path, monkeypatch, caplog):
    from plugmt.training.stages import train_joint

    with monkeypatch.context() as patch:
        crash_after(patch, 6)
        with pytest.raises(KeyboardInterrupt):
            train_joint(compose(f"store={tmp_path}", *RESUME), Store(tmp_path))
    caplog.set_level(logging.INFO, logger="plugmt.train")
    train_joint(compose(f"store={tmp_path}", *RESUME, "train.resume=false"), Store(tmp_path))
    assert "resuming" not in caplog.text
    weights, losses = stored_weights(Store(tmp_path))
    assert largest_difference(weights, uninterrupted[0]) < 1e-5
    assert losses == uninterrupted[1]


def test_a_checkpoint_cut_short_leaves_the_previous_one_in_use(tmp_path):
    import keras

    from plugmt.registry import build_encoder
    from plugmt.training.checkpoints import TrainingCheckpoint

    encoder = build_encoder({"name": "lstm", "units": 4, "embed_dim": 2}, vocab_size=6)
    optimizer = keras.optimizers.Adam()
    optimizer.build(encoder.trainable_variables)
    saved = weight_arrays(encoder)
    TrainingCheckpoint(tmp_path, {"encoder": encoder}, {"encoder": optimizer}, 4).save(4, {"at": 4})
    for variable in encoder.weights:
        variable.assign(variable + 1.0)
    # A kill while step 8 is written: its files are there, cut short; the index is not yet swapped.
    for part in tmp_path.glob("ckpt-4.*"):
        data = part.read_bytes()
        (tmp_path / part.name.replace("ckpt-4", "ckpt-8")).write_bytes(data[: len(data) // 2])
    step, state = TrainingCheckpoint(tmp_path, {"encoder": encoder}, {"encoder": optimizer}, 4).restore()
    assert (step, state) == (4, {"at": 4})
    assert all(np.array_equal(a, b) for a, b in zip(saved, weight_arrays(encoder), strict=True))


def test_the_same_command_finds_the_same_run_folder(compose, tmp_path):
    from plugmt.training.checkpoints import run_folder

    def folder(*overrides: str) -> Path:
        return run_folder(tmp_path, "joint", compose(f"store={tmp_path}", *overrides))

    assert folder() == folder("train.resume=false")  # resume=false wipes this very folder
    # the TensorBoard folder names no computation (the Multi30k preset puts it under Hydra's dated folder)
    assert folder() == folder("train.tensorboard=outputs/12-01/tb") == folder("train.tensorboard=elsewhere")
    assert folder() != folder("train.thought_noise=0.3") != folder("train.thought_noise=0.0")
    assert folder() != folder("seed=1")
    assert folder().parent == tmp_path / RUNS


def test_a_train_setting_added_at_its_default_leaves_the_run_folder_where_it_was(compose, tmp_path):
    from plugmt.training.checkpoints import run_folder

    today = compose(f"store={tmp_path}", "train.precision=float32", "train.thought_noise=0.2")
    before = OmegaConf.create(OmegaConf.to_container(today, resolve=True))
    del before.train.precision  # a config from before train.precision existed: float32 implied
    assert run_folder(tmp_path, "joint", before) == run_folder(tmp_path, "joint", today)
    del before.train.thought_noise  # its default is 0.2 too; the same config again
    assert run_folder(tmp_path, "joint", before) == run_folder(tmp_path, "joint", today)
    before.train.precision = "bf16"  # a setting off its default is part of the run
    assert run_folder(tmp_path, "joint", before) != run_folder(tmp_path, "joint", today)


def test_the_store_listing_ignores_run_folders(uninterrupted, tmp_path):
    shutil.copytree(uninterrupted[2], tmp_path / "store")
    store = Store(tmp_path / "store")
    before = [m.id for m in store.encoders()], [m.id for m in store.decoders()]
    (tmp_path / "store" / RUNS / "joint-0123456789abcdef").mkdir(parents=True)
    (tmp_path / "store" / RUNS / "joint-0123456789abcdef" / "checkpoint").write_text("x")
    assert ([m.id for m in store.encoders()], [m.id for m in store.decoders()]) == before


def test_a_second_run_of_the_same_command_is_refused_while_the_first_trains(compose, tmp_path):
    """Two identical runs would share one run folder: both store a decoder (twins) and the first to
    finish deletes the folder under the other. The second is refused; the first's folder stays."""
    from plugmt.errors import PlugmtError
    from plugmt.training.checkpoints import claim_run
    from plugmt.training.prepare import run_dir_for
    from plugmt.training.stages import train_joint

    cfg = compose(f"store={tmp_path}", *RESUME)
    folder = run_dir_for(Store(tmp_path), "joint", cfg, None)
    with claim_run(folder):  # the first run, training
        folder.mkdir(parents=True)
        (folder / "checkpoint").write_text("the first run's")
        with pytest.raises(PlugmtError, match=r"another run of the same command .* is training in"):
            train_joint(cfg, Store(tmp_path))
        assert (folder / "checkpoint").read_text() == "the first run's"
    assert Store(tmp_path).encoders() == []
