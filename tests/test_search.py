import numpy as np
import pytest
import tensorflow as tf

from plugmt.decoders.search import beam_search, greedy_search, sequence_log_prob
from plugmt.registry import build_decoder
from plugmt.thought import EOS_ID, PAD_ID, Thought, ThoughtSpec


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


class NeverEnds:
    """A decoder whose every step rules out end-of-sentence: search must still end."""

    def __init__(self, inner):
        self.inner = inner

    def __getattr__(self, name):  # initial_state, reorder, state_shapes: the inner decoder's
        return getattr(self.inner, name)

    def step(self, tokens, state, thought):
        logits, state = self.inner.step(tokens, state, thought)
        return logits - 1e9 * tf.one_hot(EOS_ID, tf.shape(logits)[-1]), state


def test_search_ends_for_a_decoder_that_never_ends_even_with_a_huge_max_len(decoder_and_thought):
    from plugmt.decoders.search import LENGTH_RATIO, LENGTH_SLACK

    decoder, thought = decoder_and_thought
    source = tf.constant([[5, 6, 7]] * 8 + [[5, 0, 0]] * 8)  # the longest source: 3 tokens
    cap = LENGTH_RATIO * 3 + LENGTH_SLACK
    greedy = greedy_search(NeverEnds(decoder), thought, max_len=10**9, source=source).numpy()
    assert greedy.shape == (16, cap) and EOS_ID not in greedy
    beam, _ = beam_search(NeverEnds(decoder), thought, max_len=10**9, beam_size=2, source=source)
    assert beam.shape == (16, cap)
    # A module's own max_len still applies below the cap.
    assert greedy_search(NeverEnds(decoder), thought, max_len=7, source=source).shape == (16, 7)


def test_no_max_len_is_above_the_hard_bound_that_the_store_also_enforces():
    from plugmt.decoders.search import length_cap
    from plugmt.thought import MAX_DECODE_LEN

    assert int(length_cap(10**9)) == MAX_DECODE_LEN
