import numpy as np
import pytest
import tensorflow as tf

from plugmt.errors import PlugmtError
from plugmt.registry import build_decoder, build_encoder
from plugmt.thought import Thought, ThoughtSpec


def test_vector_thought_pools_its_states_side_by_side():
    h, c = tf.ones((2, 3)), tf.zeros((2, 3))
    pooled = Thought("vector", states=(h, c)).pooled()
    assert pooled.shape == (2, 6)
    np.testing.assert_array_equal(pooled.numpy()[:, :3], 1.0)


def test_memory_thought_pools_only_unmasked_positions():
    memory = tf.constant([[[1.0, 1.0], [3.0, 3.0], [100.0, 100.0]]])
    mask = tf.constant([[True, True, False]])
    pooled = Thought("memory", memory=memory, mask=mask).pooled()
    np.testing.assert_allclose(pooled.numpy(), [[2.0, 2.0]])


def test_slots_thought_pools_every_slot():
    memory = tf.constant([[[1.0], [3.0]]])
    np.testing.assert_allclose(Thought("slots", memory=memory).pooled().numpy(), [[2.0]])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "vector"},  # no states
        {"kind": "memory", "memory": tf.zeros((1, 2, 3))},  # no mask
        {"kind": "slots"},  # no memory
        {"kind": "telepathy", "states": (tf.zeros((1, 1)),)},
    ],
)
def test_incomplete_thoughts_are_refused(kwargs):
    with pytest.raises(ValueError):
        Thought(**kwargs)


def test_spec_round_trips_through_json():
    spec = ThoughtSpec("slots", 64)
    assert ThoughtSpec.from_json(spec.to_json()) == spec


def test_lstm_encoder_emits_a_vector_thought_of_its_width():
    encoder = build_encoder({"name": "lstm", "units": 8, "embed_dim": 4}, vocab_size=20)
    thought = encoder.encode(tf.constant([[5, 6, 7, 0, 0]]))
    assert encoder.thought_spec() == ThoughtSpec("vector", 8)
    assert [s.shape for s in thought.states] == [(1, 8), (1, 8)]


def test_padding_does_not_change_a_sentence_thought():
    encoder = build_encoder({"name": "lstm", "units": 8, "embed_dim": 4}, vocab_size=20)
    short = encoder.encode(tf.constant([[5, 6, 7]])).pooled()
    padded = encoder.encode(tf.constant([[5, 6, 7, 0, 0, 0]])).pooled()
    np.testing.assert_allclose(short.numpy(), padded.numpy(), atol=1e-6)


def test_a_decoder_refuses_a_thought_kind_it_cannot_read():
    with pytest.raises(PlugmtError, match="reads thoughts of kind slots, memory, but the encoder emits 'vec"):
        build_decoder({"name": "transformer"}, vocab_size=10, thought=ThoughtSpec("vector", 8))


def test_unknown_architecture_lists_the_registered_ones():
    with pytest.raises(PlugmtError, match="architecture 'gru'; registered: bridge, lstm, transformer"):
        build_encoder({"name": "gru"}, vocab_size=10)


def test_unknown_setting_names_the_key():
    with pytest.raises(PlugmtError, match="has no setting 'unitz'"):
        build_encoder({"name": "lstm", "unitz": 3}, vocab_size=10)
