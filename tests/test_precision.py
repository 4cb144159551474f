"""train.precision=bf16, label smoothing and the inverse-square-root schedule (training staples)."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from test_architectures import DECODERS, ENCODERS, SOURCES, TARGETS

from plugmt.errors import PlugmtError
from plugmt.layers.losses import masked_cross_entropy, token_losses
from plugmt.layers.precision import precision
from plugmt.registry import build_decoder, build_encoder, load_decoder, load_encoder
from plugmt.storage import Store
from plugmt.training.settings import TrainSettings
from plugmt.training.step import learning_rate

ENCODERS = {**ENCODERS, "lstm": {"name": "lstm", "units": 8, "embed_dim": 4}}
PAIRS = [
    ("lstm", {"name": "lstm", "embed_dim": 6}),
    ("bridge-lstm", DECODERS["lstm"]),
    ("transformer", DECODERS["transformer"]),
    ("bridge-transformer", DECODERS["transformer"]),
]


def built(encoder_name: str, decoder_config: dict, policy: str):
    with precision(policy):
        encoder = build_encoder(ENCODERS[encoder_name], vocab_size=12)
        decoder = build_decoder(decoder_config, vocab_size=12, thought=encoder.thought_spec())
        encoder.build_weights()
        decoder.build_weights(encoder.encode(tf.ones((1, 2), dtype=tf.int32)))
    return encoder, decoder


@pytest.mark.parametrize("encoder_name,decoder_config", PAIRS, ids=[p[0] for p in PAIRS])
def test_bf16_computes_in_bfloat16_keeping_float32_weights_thoughts_logits(encoder_name, decoder_config):
    exact_encoder, exact_decoder = built(encoder_name, decoder_config, "float32")
    encoder, decoder = built(encoder_name, decoder_config, "bf16")
    assert keras.config.dtype_policy().name == "float32"  # the context restores the global policy
    assert encoder.compute_dtype == "bfloat16" and decoder.compute_dtype == "bfloat16"
    weights = encoder.weights + decoder.weights
    assert weights and all(w.dtype == "float32" for w in weights)
    # The same weights in both precisions: bf16 outputs are float32 and close, but not identical.
    encoder.set_weights(exact_encoder.get_weights())
    decoder.set_weights(exact_decoder.get_weights())
    thought, exact_thought = encoder.encode(SOURCES), exact_encoder.encode(SOURCES)
    assert all(t.dtype == tf.float32 for t in (*thought.states, thought.memory) if t is not None)
    penalised = encoder.encode_with_overlap(SOURCES)[0]  # the thought train.slot_diversity's step reads
    assert all(t.dtype == tf.float32 for t in (*penalised.states, penalised.memory) if t is not None)
    logits = decoder.teacher_forced(TARGETS[:, :-1], thought)
    exact = exact_decoder.teacher_forced(TARGETS[:, :-1], exact_thought)
    assert logits.dtype == tf.float32
    difference = float(tf.reduce_max(tf.abs(logits - exact)))
    assert 0 < difference < 0.05 * float(tf.reduce_max(tf.abs(exact))) + 0.05
    # Search's single step reads float32 thoughts and returns float32 logits too.
    step_logits, _ = decoder.step(TARGETS[:, 0], decoder.initial_state(thought), thought)
    assert step_logits.dtype == tf.float32


def test_a_bf16_run_stores_float32_modules_that_load_in_float32(compose, tmp_path):
    from plugmt.training.stages import train_joint

    cfg = compose(f"store={tmp_path}", "train.steps=3", "data.pairs=[en-fr]", "train.precision=bf16")
    encoder_module, (decoder_module,) = train_joint(cfg, Store(tmp_path))
    assert encoder_module.meta["settings"]["precision"] == "bf16"
    encoder, _ = load_encoder(Store(tmp_path), encoder_module)
    decoder, _ = load_decoder(Store(tmp_path), decoder_module, encoder.thought_spec())
    assert encoder.compute_dtype == "float32" == decoder.compute_dtype
    assert all(w.dtype == "float32" for w in encoder.weights + decoder.weights)


def test_label_smoothing_spreads_epsilon_over_the_vocabulary():
    logits = tf.constant([[[4.0, 0.0, -1.0, 2.0]]])
    target = tf.constant([[3]])
    log_p = tf.nn.log_softmax(logits)[0, 0].numpy()
    plain = float(token_losses(target, logits)[0, 0])
    smoothed = float(token_losses(target, logits, 0.1)[0, 0])
    assert plain == pytest.approx(-log_p[3], rel=1e-6)
    assert smoothed == pytest.approx(0.9 * -log_p[3] + 0.1 * -log_p.mean(), rel=1e-6)
    # Padding is still left out, and no smoothing is the plain mean cross-entropy.
    padded = tf.constant([[3, 0]])
    two = tf.concat([logits, logits], axis=1)
    assert float(masked_cross_entropy(padded, two, 0.1)) == pytest.approx(smoothed, rel=1e-6)


def test_inverse_sqrt_peaks_at_the_end_of_warm_up_and_halves_at_four_times_it():
    schedule = learning_rate(TrainSettings(learning_rate=0.004, warmup_steps=100, decay="inverse_sqrt"))
    rates = {step: float(schedule(step - 1)) for step in (1, 50, 100, 400, 1600)}
    assert rates[1] == pytest.approx(0.004 / 100)
    assert rates[50] == pytest.approx(0.002)
    assert rates[100] == pytest.approx(0.004)
    assert rates[400] == pytest.approx(0.002)
    assert rates[1600] == pytest.approx(0.001)
    with pytest.raises(PlugmtError, match=r"train\.warmup_steps"):
        learning_rate(TrainSettings(decay="inverse_sqrt", warmup_steps=0))


def test_bf16_training_lowers_the_loss(compose, tmp_path):
    from plugmt.training.stages import train_joint

    cfg = compose(
        f"store={tmp_path}",
        "train.steps=60",
        "train.log_every=20",
        "data.pairs=[en-fr]",
        "train.batch_size=64",
        "train.precision=bf16",
        "train.label_smoothing=0.1",
    )
    encoder, _ = train_joint(cfg, Store(tmp_path))
    losses = encoder.meta["training"]["loss"]
    assert np.isfinite(losses).all() and losses[-1] < losses[0] - 0.4
