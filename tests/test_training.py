import shutil

import numpy as np

from plugmt.registry import load_encoder
from plugmt.storage import Store
from plugmt.storage.weights import fingerprint, weight_arrays
from plugmt.training import stages
from plugmt.training.stages import train_plugin


def test_plugin_training_leaves_the_encoder_bit_identical(trained, compose, tmp_path):
    shutil.copytree(trained["store"].root, tmp_path / "store")
    store = Store(tmp_path / "store")
    encoder_module = store.encoder()
    before = weight_arrays(load_encoder(store, encoder_module)[0])
    cfg = compose(f"store={store.root}", "train.steps=4", "seed=3")
    # Observe the very encoder object the plug-in run trains against.
    seen = {}
    original = stages.load_encoder

    def spy(store, module):
        seen["encoder"], vocab = original(store, module)
        return seen["encoder"], vocab

    stages.load_encoder = spy
    try:
        module = train_plugin(cfg, store, "es", ["fr-es"])
    finally:
        stages.load_encoder = original
    after = weight_arrays(seen["encoder"])
    assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))
    assert fingerprint(after) == encoder_module.meta["fingerprint"]
    assert module.meta["encoder_fingerprint"] == encoder_module.meta["fingerprint"]
    assert module.meta["pairs"] == [["fr", "es"]]


def test_the_same_seed_trains_the_same_encoder(compose, tmp_path):
    from plugmt.training.stages import train_joint

    prints = []
    for run in ("a", "b"):
        cfg = compose(f"store={tmp_path / run}", "train.steps=3", "data.pairs=[en-fr]")
        encoder, _ = train_joint(cfg, Store(tmp_path / run))
        prints.append(encoder.meta["fingerprint"])
    assert prints[0] == prints[1]


def test_training_lowers_the_loss(compose, tmp_path):
    from plugmt.training.stages import train_joint

    cfg = compose(
        f"store={tmp_path}",
        "train.steps=60",
        "train.log_every=15",
        "data.pairs=[en-fr]",
        "train.batch_size=64",
    )
    encoder, _ = train_joint(cfg, Store(tmp_path))
    losses = encoder.meta["training"]["loss"]
    assert len(losses) == 4
    assert losses[-1] < losses[0] - 0.4


def test_steps_of_any_length_reuse_one_trace(compose, tmp_path):
    """A retracing guard: batches of different lengths and directions must not recompile the step."""
    from plugmt.corpora.batches import MultiTargetBatches
    from plugmt.registry import build_decoder, build_encoder
    from plugmt.training.settings import train_settings
    from plugmt.training.step import Trainer

    cfg = compose()
    encoder = build_encoder({"name": "lstm", "units": 8, "embed_dim": 4}, vocab_size=12)
    decoders = {
        lang: build_decoder({"name": "lstm", "embed_dim": 4}, 12, encoder.thought_spec())
        for lang in ("en", "fr")
    }
    rng = np.random.default_rng(0)
    lengths = rng.integers(2, 9, size=40)
    rows = {
        lang: np.array([[5] * n + [0] * (10 - n) for n in lengths], dtype=np.int32) for lang in ("en", "fr")
    }
    groups = [str(n) for n in lengths]  # every group has its own length
    batches = MultiTargetBatches(
        rows, rows, groups, [("en", "fr"), ("fr", "en")], ["en", "fr"], 4, 0, two_sources=True
    )
    trainer = Trainer(encoder, decoders, train_settings(cfg), train_encoder=True, sources=2)
    widths = set()
    for _ in range(12):
        batch = next(batches)
        widths.add(batch.sources.shape[2])
        trainer(batch)
    assert len(widths) > 2
    assert trainer.step.experimental_get_tracing_count() == 1


def test_periodic_validation_keeps_the_best_weights_and_logs_to_tensorboard(compose, tmp_path):
    from plugmt.storage import Store
    from plugmt.training.stages import train_joint

    cfg = compose(
        f"store={tmp_path / 'store'}",
        "train.steps=8",
        "train.validate_every=4",
        "train.patience=1",
        f"train.tensorboard={tmp_path / 'tb'}",
        "train.warmup_steps=3",
        "train.select=chrf",  # the default, select=loss, is checked in tests/test_monitor.py
    )
    _, decoders = train_joint(cfg, Store(tmp_path / "store"))
    record = decoders[0].meta["training"]
    assert [v[0] for v in record["validations"]][:2] == [4, 8]
    assert record["selected_step"] in (4, 8) and record["selected_on"] == "chrf"
    assert record["valid_chrf"] == max(v[1] for v in record["validations"])
    assert record["stopped"] in ("steps", "converged") and "converged" in record
    # What the stage's curves figure draws: every validation's exact match and loss, the loss steps.
    steps = [v[0] for v in record["validations"]]
    assert [v[0] for v in record["validation_exact"]] == steps == [v[0] for v in record["validation_loss"]]
    assert all(0.0 <= v[1] <= 1.0 for v in record["validation_exact"]) and record["loss_every"] == 3
    # One TensorBoard run per stage: the joint stage's curves under tb/joint.
    assert list((tmp_path / "tb" / "joint").glob("events.out.tfevents.*"))
    assert not list((tmp_path / "tb").glob("events.out.tfevents.*"))


def test_watching_unseen_directions_scores_them_beside_their_pivots_and_leaves_training_unchanged(
    compose, tmp_path, caplog
):
    """train.watch_unseen decodes more at each validation but never touches what is trained or kept."""
    import logging

    from plugmt.storage import Store
    from plugmt.training.stages import train_joint

    caplog.set_level(logging.INFO, logger="plugmt.train")
    records, prints = {}, {}
    for watch in ("false", "true"):
        root = tmp_path / watch
        cfg = compose(
            f"store={root}", "train.steps=8", "train.validate_every=4", f"train.watch_unseen={watch}"
        )
        encoder, decoders = train_joint(cfg, Store(root))
        records[watch], prints[watch] = decoders[0].meta["training"], encoder.meta["fingerprint"]
    assert prints["true"] == prints["false"]
    assert records["true"]["validations"] == records["false"]["validations"]
    assert records["false"]["validation_unseen"] == []
    watched = records["true"]["validation_unseen"]
    assert [step for step, _ in watched] == [v[0] for v in records["true"]["validations"]]
    # TINY trains en<->fr and en<->de: the unseen cells are de->fr and fr->de, each with a pivot via en.
    assert [cell[:2] for cell in watched[-1][1]] == [["de", "fr"], ["fr", "de"]]
    assert all(0.0 <= cell[2] <= 100.0 and 0.0 <= cell[3] <= 100.0 for cell in watched[-1][1])
    assert "watching unseen directions at each validation, not part of the score: de-fr (pivot de-en-fr)" in (
        caplog.text
    )


def test_a_plugin_trains_its_pairs_only_even_when_the_encoder_reads_its_language(trained, compose, tmp_path):
    """A new de decoder (the encoder reads de) trains on en->de alone: no de->de beside it, which
    bought nothing over seeds 0-2 (docs/RESULTS.md, session 21), whatever train.identity_pairs says."""
    shutil.copytree(trained["store"].root, tmp_path / "store")
    store = Store(tmp_path / "store")
    plugin = train_plugin(compose(f"store={store.root}", "train.steps=2"), store, "de", ["en-de"])
    assert plugin.meta["pairs"] == [["en", "de"]]
