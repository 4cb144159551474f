import numpy as np
import pytest
import tensorflow as tf

from plugmt.encoders.thought import Thought
from plugmt.errors import PlugmtError
from plugmt.workflows.adapters import fit_adapter


def _rotation(width: int, seed: int) -> np.ndarray:
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(width, width)))
    return q


def test_orthogonal_adapter_recovers_a_rotation_and_shift():
    x = np.random.default_rng(0).normal(size=(500, 6))
    y = x @ _rotation(6, 1) + 3.0
    adapter = fit_adapter("orthogonal", x, y)
    mapped = adapter(Thought("slots", memory=tf.constant(x[None], tf.float32))).memory.numpy()[0]
    assert np.allclose(mapped, y, atol=1e-4)


def test_linear_adapter_maps_between_widths_and_splits_vector_states():
    x = np.random.default_rng(0).normal(size=(400, 4))
    y = x @ np.random.default_rng(1).normal(size=(4, 6))
    adapter = fit_adapter("linear", x, y, splits=(3, 3))
    thought = Thought("vector", states=(tf.constant(x[:, :2], tf.float32), tf.constant(x[:, 2:], tf.float32)))
    h, c = adapter(thought).states
    assert h.shape == (400, 3) and c.shape == (400, 3)
    assert np.allclose(np.concatenate([h, c], axis=1), y, atol=1e-4)


def test_adapter_mistakes_are_explained():
    with pytest.raises(PlugmtError, match="use adapter=linear"):
        fit_adapter("orthogonal", np.ones((10, 3)), np.ones((10, 4)))
    with pytest.raises(PlugmtError, match="not one of: linear, orthogonal"):
        fit_adapter("affine", np.ones((10, 3)), np.ones((10, 3)))


def test_a_foreign_decoder_reads_through_an_adapter_fitted_on_its_own_encoder(trained, compose, tmp_path):
    """A second encoder (another seed) plugs the first encoder's decoders through a fitted map."""
    import shutil

    from plugmt.corpora.corpus import load_corpus
    from plugmt.registry import Store
    from plugmt.workflows.evaluation import adapter_sample
    from plugmt.workflows.training import train_joint
    from plugmt.workflows.translator import Translator

    root = tmp_path / "store"
    shutil.copytree(trained["store"].root, root)
    store = Store(root)
    cfg = compose(f"store={root}", "seed=1")
    second, _ = train_joint(cfg, store)
    foreign_es = trained["plugged"].id
    corpus = load_corpus(cfg.data)
    texts = adapter_sample(corpus, second, 200)
    readable = {t for lang in ("en", "fr", "de") for t in corpus.texts("train", lang)}
    assert len(texts) == 3 * (200 // 3) and set(texts) <= readable
    adapted = Translator.open(store, second.id, allow_foreign=True, adapter="orthogonal", adapter_texts=texts)
    plain = Translator.open(store, second.id, allow_foreign=True)
    sentences = corpus.texts("test", "de")[:5]
    assert len(adapted.translate(sentences, foreign_es)) == 5
    assert len(plain.translate(sentences, foreign_es)) == 5
    # Without the decoder's own encoder in the store, no map can be fitted: said in words.
    shutil.rmtree(root / trained["encoder"].path.relative_to(trained["store"].root))
    lonely = Translator.open(root, second.id, allow_foreign=True, adapter="linear", adapter_texts=texts)
    with pytest.raises(PlugmtError, match="needs the encoder it was trained with"):
        lonely.plug(foreign_es)
