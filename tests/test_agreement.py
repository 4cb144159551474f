"""train.agreement: a decoder's greedy output from the thought of a source it is trained on, taught
from the thought of a source it is not (a zero-shot direction held to its pivot's output)."""

import numpy as np
import pytest
import tensorflow as tf
from test_architectures import DECODERS, ENCODERS, SOURCES, TARGETS, randomise
from test_batches import make

from plugmt.decoders.search import greedy_search
from plugmt.errors import PlugmtError
from plugmt.layers.losses import masked_cross_entropy
from plugmt.registry import build_decoder, build_encoder
from plugmt.thought import BOS_ID, Thought
from plugmt.training.settings import TrainSettings
from plugmt.training.step import Trainer, stage_losses
from plugmt.training.thoughts import AGREEMENT_RATIO, AGREEMENT_SLACK, agreement_loss, select_source

SOURCE = tf.stack([SOURCES, tf.reverse(SOURCES, [1])])  # two "languages" of the same 3 rows


def models():
    """A bridge encoder and two LSTM decoders without dropout, random weights."""
    encoder = build_encoder(ENCODERS["bridge-lstm"], vocab_size=12)
    decoders = {
        lang: build_decoder(
            {**DECODERS["lstm"], "dropout": 0.0}, vocab_size=12, thought=encoder.thought_spec()
        )
        for lang in ("de", "fr")
    }
    randomise(encoder, 1)
    for seed, decoder in enumerate(decoders.values(), start=2):
        randomise(decoder, seed)
    return encoder, decoders


def test_the_term_is_the_decoders_loss_on_its_greedy_output_read_from_the_other_thought():
    """agree = (fr, teacher 1, student 0): fr decodes source 1's thought greedily, and the term is its
    cross-entropy on that output (BOS-shifted) reading source 0's thought; -1: no decoder, 0."""
    encoder, decoders = models()
    thought = encoder.encode(tf.reshape(SOURCE, [6, -1]))
    fr = decoders["fr"]
    cap = AGREEMENT_RATIO * 6 + AGREEMENT_SLACK  # source 1's longest row: 6 tokens
    ids = greedy_search(fr, select_source(thought, 1, 2), cap, SOURCE[1])
    assert 1 < ids.shape[1] <= cap  # a real sentence to be taught, not an empty one
    inputs = tf.concat([tf.fill([3, 1], BOS_ID), ids[:, :-1]], axis=1)
    expected = masked_cross_entropy(
        ids, fr.teacher_forced(inputs, select_source(thought, 0, 2), training=True)
    )
    term = agreement_loss(list(decoders.values()), thought, SOURCE, tf.constant([1, 1, 0]))
    assert float(term) == pytest.approx(float(expected), rel=1e-5)
    assert float(term) > 0.1
    other = agreement_loss(list(decoders.values()), thought, SOURCE, tf.constant([0, 1, 0]))  # de instead
    assert float(other) != pytest.approx(float(term), rel=1e-3)
    assert float(agreement_loss(list(decoders.values()), thought, SOURCE, tf.constant([-1, 0, 0]))) == 0.0


def test_only_the_students_thought_is_taught():
    """The teacher's output is a target, not a prediction: no gradient reaches its thought, while the
    student's thought gets one; the decoder's weights are held (no gradient), so only the encoder
    learns from the term."""
    encoder, decoders = models()
    memory = tf.Variable(encoder.encode(tf.reshape(SOURCE, [6, -1])).memory)
    weights = decoders["fr"].trainable_weights
    with tf.GradientTape(persistent=True) as tape:
        term = agreement_loss(
            list(decoders.values()), Thought("slots", memory=memory), SOURCE, tf.constant([1, 1, 0])
        )
    grad = tape.gradient(term, memory).numpy()
    assert np.abs(grad[:3]).sum() > 1e-6  # student rows (source 0)
    assert np.abs(grad[3:]).sum() == 0.0  # teacher rows (source 1)
    assert all(g is None for g in tape.gradient(term, weights))
    with tf.GradientTape() as tape:  # the same decoder outside the term: its weights do get one
        plain = masked_cross_entropy(
            TARGETS[:, 1:],
            decoders["fr"].teacher_forced(TARGETS[:, :-1], Thought("slots", memory=memory[:3])),
        )
    assert all(g is not None for g in tape.gradient(plain, weights))


def test_the_joint_step_adds_the_weighted_term():
    """stage_losses' total with train.agreement=w is the plain total + w × the term; the per-decoder
    losses are untouched; without a triple (one source, or agree=None) nothing is added."""
    encoder, decoders = models()
    agree = tf.constant([1, 1, 0])
    targets = ([TARGETS[:, :-1]] * 2, [TARGETS[:, 1:]] * 2, tf.constant([0, 1]))

    def run(weight: float, triple=agree):
        settings = TrainSettings(agreement=weight, thought_noise=0.0, align_weight=0.0)
        return stage_losses(encoder, decoders, settings, True, 2, SOURCE, *targets, agree=triple)

    thought = encoder.encode(tf.reshape(SOURCE, [6, -1]))
    term = float(agreement_loss(list(decoders.values()), thought, SOURCE, agree))
    plain, weighted = run(0.0), run(3.0)
    assert float(weighted[2]) == pytest.approx(float(plain[2]) + 3.0 * term, rel=1e-5)
    np.testing.assert_allclose(weighted[0].numpy(), plain[0].numpy(), rtol=1e-6)
    assert float(run(3.0, None)[2]) == pytest.approx(float(plain[2]), rel=1e-6)


def test_the_compiled_step_trains_on_the_batchs_triple():
    """The single-device step reads the batch's triple: with a decoder named, train.agreement=1 moves
    the encoder differently from 0; with none (-1), exactly as 0 does."""
    batches = make(pairs=[("en", "fr"), ("fr", "en"), ("en", "de"), ("de", "en")])
    batch = next(b for b in (batches.batch(i) for i in range(20)) if b.agree[0] >= 0)
    none = type(batch)(**{**batch.__dict__, "agree": (-1, 0, 0)})

    def encoder_after(weight: float, chosen) -> np.ndarray:
        tf.keras.utils.set_random_seed(0)
        encoder = build_encoder({**ENCODERS["bridge-lstm"]}, vocab_size=12)
        decoders = {
            lang: build_decoder(DECODERS["lstm"], vocab_size=12, thought=encoder.thought_spec())
            for lang in batches.decoders
        }
        randomise(encoder, 1)
        for seed, decoder in enumerate(decoders.values(), start=2):
            randomise(decoder, seed)
        settings = TrainSettings(agreement=weight, thought_noise=0.0)
        trainer = Trainer(encoder, decoders, settings, True, 2)
        trainer(chosen)
        return np.concatenate([w.numpy().ravel() for w in encoder.trainable_weights])

    plain = encoder_after(0.0, batch)
    assert not np.allclose(encoder_after(1.0, batch), plain, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(encoder_after(1.0, none), plain, rtol=1e-6)


def test_a_batch_agrees_only_on_a_direction_no_pair_trains():
    """Every triple names a decoder trained from the teacher's language and not from the student's
    (nor the student's own language); one source: never."""
    batches = make(pairs=[("en", "fr"), ("fr", "en"), ("en", "de"), ("de", "en"), ("fr", "de")])
    seen = set()
    for i in range(60):
        batch = batches.batch(i)
        k, teacher, student = batch.agree
        if k < 0:
            continue
        decoder = batches.decoders[k]
        assert (batch.languages[teacher], decoder) in batches.pairs
        assert (batch.languages[student], decoder) not in batches.pairs
        assert decoder != batch.languages[student]
        seen.add((batch.languages[student], decoder))
    assert seen == {("de", "fr")}  # the one direction no pair trains (fr -> de is trained)
    assert all(make(two_sources=False).batch(i).agree == (-1, 0, 0) for i in range(20))


def test_agreement_is_refused_with_a_data_parallel_strategy(compose):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module

    from plugmt.cli import checks

    with initialize_config_module("plugmt.conf", version_base="1.3"):
        cfg = hydra_compose("config", ["train.agreement=1", "train.strategy=mirrored", "store=s"])
    checks.check_main(cfg, ["plugin"])  # a plug-in stage trains no encoder
    with pytest.raises(PlugmtError, match=r"train\.agreement decodes .* train\.strategy=mirrored replaces"):
        checks.check_main(cfg, ["joint"])
