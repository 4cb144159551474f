import shutil

import numpy as np

from plugmt.registry import Store, fingerprint, weight_arrays
from plugmt.workflows.training import train_plugin


def test_plugin_training_leaves_the_encoder_bit_identical(trained, compose, tmp_path):
    shutil.copytree(trained["store"].root, tmp_path / "store")
    store = Store(tmp_path / "store")
    encoder_module = store.encoder()
    before = weight_arrays(store.load_encoder(encoder_module)[0])
    cfg = compose(f"store={store.root}", "train.steps=4", "seed=3")
    # Observe the very encoder object the plug-in run trains against.
    seen = {}
    original = store.load_encoder

    def spy(module):
        seen["encoder"], vocab = original(module)
        return seen["encoder"], vocab

    store.load_encoder = spy
    try:
        module = train_plugin(cfg, store, "es", ["fr-es"])
    finally:
        del store.load_encoder
    after = weight_arrays(seen["encoder"])
    assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))
    assert fingerprint(after) == encoder_module.meta["fingerprint"]
    assert module.meta["encoder_fingerprint"] == encoder_module.meta["fingerprint"]
    assert module.meta["pairs"] == [["fr", "es"]]


def test_the_same_seed_trains_the_same_encoder(compose, tmp_path):
    from plugmt.workflows.training import train_joint

    prints = []
    for run in ("a", "b"):
        cfg = compose(f"store={tmp_path / run}", "train.steps=3", "data.pairs=[en-fr]")
        encoder, _ = train_joint(cfg, Store(tmp_path / run))
        prints.append(encoder.meta["fingerprint"])
    assert prints[0] == prints[1]


def test_training_lowers_the_loss(compose, tmp_path):
    from plugmt.workflows.training import train_joint

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
