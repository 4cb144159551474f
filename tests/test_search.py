import numpy as np
import pytest
import tensorflow as tf

from plugmt.decoders.search import EOS_ID, PAD_ID, beam_search, greedy_search, sequence_log_prob
from plugmt.encoders.thought import Thought, ThoughtSpec
from plugmt.registry import build_decoder


@pytest.fixture(scope="module")
def decoder_and_thought():
    tf.random.set_seed(7)
    decoder = build_decoder({"name": "lstm", "embed_dim": 6}, vocab_size=9, thought=ThoughtSpec("vector", 8))
    # Random weights are a model like any other: search must be exact with respect to it.
    for weight in decoder.weights:
        weight.assign(tf.random.normal(weight.shape, stddev=1.5, seed=3))
    states = (tf.random.normal((16, 8), seed=1), tf.random.normal((16, 8), seed=2))
    return decoder, Thought("vector", states=states)


def test_greedy_stops_each_sentence_at_its_end(decoder_and_thought):
    decoder, thought = decoder_and_thought
    ids = greedy_search(decoder, thought, max_len=12).numpy()
    for row in ids:
        if EOS_ID in row:
            assert (row[list(row).index(EOS_ID) + 1 :] == PAD_ID).all()


def test_beam_of_one_is_greedy(decoder_and_thought):
    decoder, thought = decoder_and_thought
    greedy = greedy_search(decoder, thought, max_len=12).numpy()
    beam, scores = beam_search(decoder, thought, max_len=12, beam_size=1)
    np.testing.assert_array_equal(beam.numpy(), greedy)
    np.testing.assert_allclose(
        scores.numpy(), sequence_log_prob(decoder, thought, greedy).numpy(), rtol=1e-4, atol=1e-4
    )


def test_beam_never_scores_below_greedy(decoder_and_thought):
    decoder, thought = decoder_and_thought
    greedy = greedy_search(decoder, thought, max_len=12)
    greedy_scores = sequence_log_prob(decoder, thought, greedy).numpy()
    beam, beam_scores = beam_search(decoder, thought, max_len=12, beam_size=4)
    rescored = sequence_log_prob(decoder, thought, beam).numpy()
    np.testing.assert_allclose(beam_scores.numpy(), rescored, rtol=1e-4, atol=1e-4)
    assert (rescored >= greedy_scores - 1e-4).all()
    assert (rescored > greedy_scores + 1e-3).any()  # and it does find better ones here
