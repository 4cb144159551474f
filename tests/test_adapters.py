import numpy as np
import pytest
import tensorflow as tf

from plugmt.errors import PlugmtError
from plugmt.inference.adapters import fit_adapter
from plugmt.registry import load_encoder
from plugmt.thought import Thought


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


def _permuted_lstm_encoder(store, module, seed: int):
    """A copy of a stored LSTM encoder with its hidden units permuted: another encoder (another
    fingerprint) whose thoughts are exactly an orthogonal map (a permutation) of the original's."""
    encoder, vocab = load_encoder(store, module)
    units = int(encoder.config.units)
    order = np.random.default_rng(seed).permutation(units)
    columns = np.concatenate([gate * units + order for gate in range(4)])  # gates i, f, c, o
    kernel, recurrent, bias = encoder.lstm.get_weights()
    encoder.lstm.set_weights([kernel[:, columns], recurrent[order][:, columns], bias[columns]])
    return encoder, vocab, order


def test_an_adapter_recovers_a_permuted_encoder_exactly(trained, tmp_path):
    """A decoder read through a permuted copy of its own encoder: with an orthogonal adapter fitted
    on sentences, it must translate exactly as it does on its own encoder; without, it must not."""
    import shutil

    from plugmt.inference.adapters import thought_rows
    from plugmt.inference.translator import Translator
    from plugmt.storage import Store

    root = tmp_path / "store"
    shutil.copytree(trained["store"].root, root)
    store = Store(root)
    encoder, vocab, order = _permuted_lstm_encoder(store, trained["encoder"], seed=3)
    record = {"stage": "test", "languages": trained["encoder"].meta["languages"]}
    permuted = store.save_encoder(encoder, vocab, record)
    assert permuted.id != trained["encoder"].id
    cfg = trained["cfg"]
    from plugmt.corpora.corpus import load_corpus

    corpus = load_corpus(cfg.data)
    texts = {lang: corpus.texts("train", lang)[:60] for lang in ("en", "de")}
    # The permuted encoder's thoughts are the original's with units reordered, h and c alike.
    original, _ = thought_rows(load_encoder(store, trained["encoder"])[0], vocab, texts["en"][:8])
    moved, _ = thought_rows(encoder, vocab, texts["en"][:8])
    units = len(order)
    assert np.allclose(moved[:, :units], original[:, :units][:, order], atol=1e-5)

    sentences = corpus.texts("test", "de")[:12]
    home = Translator.open(store, trained["encoder"].id)
    adapted = Translator.open(
        store, permuted.id, allow_foreign=True, adapter="orthogonal", adapter_texts=texts
    )
    plain = Translator.open(store, permuted.id, allow_foreign=True)
    for decoder in (trained["plugged"].id, trained["decoders"][0].id):
        expected = home.translate(sentences, decoder)
        assert adapted.translate(sentences, decoder) == expected
        assert plain.translate(sentences, decoder) != expected


def test_a_foreign_decoder_reads_through_an_adapter_fitted_on_its_own_encoder(trained, compose, tmp_path):
    """A second encoder (another seed) plugs the first encoder's decoders through a fitted map."""
    import shutil

    from plugmt.corpora.corpus import load_corpus
    from plugmt.evaluation.matrix import adapter_sample
    from plugmt.inference.translator import Translator
    from plugmt.storage import Store
    from plugmt.training.stages import train_joint

    root = tmp_path / "store"
    shutil.copytree(trained["store"].root, root)
    store = Store(root)
    cfg = compose(f"store={root}", "seed=1")
    second, _ = train_joint(cfg, store)
    foreign_es = trained["plugged"].id
    corpus = load_corpus(cfg.data)
    texts = adapter_sample(corpus, second, 200)
    assert sorted(texts) == ["de", "en", "fr"]
    for lang, sample in texts.items():
        assert len(sample) == 200 // 3 and set(sample) <= set(corpus.texts("train", lang))
    # A cell is scored with the decoder it names, even where the encoder has its own of that language.
    from plugmt.corpora.corpus import sample_rows
    from plugmt.evaluation.matrix import zero_shot_matrix
    from plugmt.evaluation.metrics import score

    foreign_en = next(d for d in trained["decoders"] if d.meta["lang"] == "en")
    plain = Translator.open(root, second.id, allow_foreign=True)
    (cell,) = zero_shot_matrix(plain, corpus, sources=["de"], decoders=[foreign_en.id], max_items=40).cells
    rows = sample_rows(len(corpus.groups("test")), 40)
    sources, references = ([corpus.texts("test", lang)[i] for i in rows] for lang in ("de", "en"))
    assert cell.decoder == foreign_en.id and cell.kind == "foreign"
    assert cell.chrf == score(plain.translate(sources, foreign_en.id), references, "en")["chrf"]
    assert cell.chrf != score(plain.translate(sources, "en"), references, "en")["chrf"]  # its own en decoder
    # Sentences only in a language the decoder's own encoder never read cannot fit a map: said in words.
    unread = Translator.open(
        root, second.id, allow_foreign=True, adapter="linear", adapter_texts={"xx": ["a"]}
    )
    with pytest.raises(PlugmtError, match="needs sentences in a language both encoders read"):
        unread.plug(foreign_es)
    # (That an adapter maps thoughts correctly is checked exactly above, on a permuted encoder.)
    # Without the decoder's own encoder in the store, no map can be fitted: said in words.
    shutil.rmtree(root / trained["encoder"].path.relative_to(trained["store"].root))
    lonely = Translator.open(root, second.id, allow_foreign=True, adapter="linear", adapter_texts=texts)
    with pytest.raises(PlugmtError, match="needs the encoder it was trained with"):
        lonely.plug(foreign_es)
