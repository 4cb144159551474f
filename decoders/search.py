"""Search over a decoder's `step`: one implementation serves every decoder architecture."""

from __future__ import annotations

import tensorflow as tf

from plugmt.decoders.base import LanguageDecoder
from plugmt.thought import BOS_ID, EOS_ID, MAX_DECODE_LEN, PAD_ID, Thought

# Decoding always ends: at most LENGTH_RATIO tokens per source token plus LENGTH_SLACK, and never
# more than the module's max_len nor MAX_DECODE_LEN (store_checks refuses a module asking for
# more). Generous on purpose, so no real translation is cut: numbers written out in words with a
# character vocabulary run about 11 output tokens per source token ("777777" -> "seven hundred
# seventy-seven thousand ..."), and every decoder's recorded max_len (1.5 x its longest training
# target + 4) is far below the cap for any input. Only a decoder that never ends meets it.
LENGTH_RATIO = 16
LENGTH_SLACK = 32


def length_cap(
    max_len: int | tf.Tensor,
    source: tf.Tensor | None = None,
    ratio: int = LENGTH_RATIO,
    slack: int = LENGTH_SLACK,
) -> tf.Tensor:
    """How many tokens search may emit for the batch of source ids `source` [B, S] (0 = padding):
    `max_len`, at most MAX_DECODE_LEN, and at most `ratio` per token of the longest source plus
    `slack`."""
    cap = tf.minimum(tf.cast(max_len, tf.int32), MAX_DECODE_LEN)
    if source is not None:
        longest = tf.reduce_max(tf.reduce_sum(tf.cast(tf.not_equal(source, PAD_ID), tf.int32), axis=1))
        cap = tf.minimum(cap, ratio * longest + slack)
    return cap


def _never_padding_or_start(logits: tf.Tensor) -> tf.Tensor:
    """Logits with padding and BOS ruled out: neither is ever a token to emit."""
    vocab = tf.shape(logits)[-1]
    banned = tf.logical_or(tf.range(vocab) == PAD_ID, tf.range(vocab) == BOS_ID)
    return tf.where(banned, tf.constant(-1e9, logits.dtype), logits)


def greedy_search(
    decoder: LanguageDecoder, thought: Thought, max_len: int, source: tf.Tensor | None = None
) -> tf.Tensor:
    """Most likely next token at every step, until every sentence has ended or `length_cap`
    (`max_len`, bounded by MAX_DECODE_LEN and by the length of `source`, the ids encoded).

    Returns ids [B, <= max_len] without BOS; positions after a sentence's EOS are padding (0), and
    EOS itself is kept so callers can tell a finished sentence from a truncated one.
    """
    max_len = length_cap(max_len, source)
    batch = tf.shape(thought.pooled())[0]
    tokens = tf.fill([batch], BOS_ID)
    state = decoder.initial_state(thought)
    finished = tf.zeros([batch], dtype=tf.bool)
    outputs = tf.TensorArray(tf.int32, size=0, dynamic_size=True, element_shape=tf.TensorShape([None]))

    def keep_going(i, tokens, state, finished, outputs):
        # Always one step: an empty batch (all finished at once) still stacks a defined shape [0, 1].
        going = tf.logical_or(tf.equal(i, 0), tf.logical_not(tf.reduce_all(finished)))
        return tf.logical_and(i < max_len, going)

    def advance(i, tokens, state, finished, outputs):
        logits, state = decoder.step(tokens, state, thought)
        chosen = tf.argmax(_never_padding_or_start(logits), axis=-1, output_type=tf.int32)
        chosen = tf.where(finished, PAD_ID, chosen)
        outputs = outputs.write(i, chosen)
        finished = tf.logical_or(finished, tf.equal(chosen, EOS_ID))
        return i + 1, chosen, state, finished, outputs

    _, _, _, _, outputs = tf.while_loop(
        keep_going,
        advance,
        (tf.constant(0), tokens, state, finished, outputs),
        shape_invariants=(
            tf.TensorShape([]),
            tf.TensorShape([None]),
            decoder.state_shapes(state),
            tf.TensorShape([None]),
            tf.TensorShape(None),
        ),
    )
    return tf.transpose(outputs.stack())


def beam_search(
    decoder: LanguageDecoder,
    thought: Thought,
    max_len: int,
    beam_size: int = 4,
    length_penalty: float = 0.0,
    source: tf.Tensor | None = None,
) -> tuple[tf.Tensor, tf.Tensor]:
    """The best of `beam_size` hypotheses per sentence: (ids [B, <= max_len], log-probabilities [B]).

    Search stops at `length_cap` (as in `greedy_search`), so it always ends.

    Runs the decoder's `step` once per position for all B*K hypotheses, carrying the decoder state
    (reordered along the surviving beams by `decoder.reorder`), never re-running a prefix.
    Finished hypotheses keep their score and emit padding. Hypotheses are ranked by
    log-probability / ((5 + length) / 6) ** `length_penalty` (Wu et al. 2016); 0 ranks by
    log-probability alone.
    """
    k = int(beam_size)
    max_len = length_cap(max_len, source)
    batch = tf.shape(thought.pooled())[0]
    thought = thought.map(lambda x: tf.repeat(x, k, axis=0))  # each sentence's rows, K times
    state = decoder.initial_state(thought)
    tokens = tf.fill([batch * k], BOS_ID)
    # Only the first beam is alive at the start, so the first step does not pick K copies of one token.
    scores = tf.tile(tf.concat([[0.0], tf.fill([k - 1], -1e9)], axis=0)[None, :], [batch, 1])
    finished = tf.zeros([batch, k], dtype=tf.bool)
    lengths = tf.zeros([batch, k], dtype=tf.int32)
    sequences = tf.zeros([batch, k, 0], dtype=tf.int32)

    def keep_going(i, tokens, state, scores, finished, lengths, sequences):
        return tf.logical_and(i < max_len, tf.logical_not(tf.reduce_all(finished)))

    def advance(i, tokens, state, scores, finished, lengths, sequences):
        logits, state = decoder.step(tokens, state, thought)
        log_probs = _never_padding_or_start(tf.nn.log_softmax(tf.cast(logits, tf.float32)))
        vocab = tf.shape(log_probs)[-1]
        log_probs = tf.reshape(log_probs, [batch, k, vocab])
        # A finished hypothesis may only emit padding, at no cost.
        only_pad = tf.where(tf.range(vocab) == PAD_ID, 0.0, -1e9)
        log_probs = tf.where(finished[:, :, None], only_pad[None, None, :], log_probs)
        candidates = tf.reshape(scores[:, :, None] + log_probs, [batch, k * vocab])
        scores, flat = tf.math.top_k(candidates, k=k)
        parents = flat // vocab
        chosen = tf.cast(flat % vocab, tf.int32)
        finished = tf.gather(finished, parents, batch_dims=1)
        lengths = tf.gather(lengths, parents, batch_dims=1) + tf.cast(tf.logical_not(finished), tf.int32)
        sequences = tf.concat([tf.gather(sequences, parents, batch_dims=1), chosen[:, :, None]], axis=2)
        finished = tf.logical_or(finished, tf.equal(chosen, EOS_ID))
        rows = tf.reshape(parents + tf.range(batch)[:, None] * k, [-1])
        state = decoder.reorder(state, rows)
        return i + 1, tf.reshape(chosen, [-1]), state, scores, finished, lengths, sequences

    _, _, _, scores, _, lengths, sequences = tf.while_loop(
        keep_going,
        advance,
        (tf.constant(0), tokens, state, scores, finished, lengths, sequences),
        shape_invariants=(
            tf.TensorShape([]),
            tf.TensorShape([None]),
            decoder.state_shapes(state),
            tf.TensorShape([None, k]),
            tf.TensorShape([None, k]),
            tf.TensorShape([None, k]),
            tf.TensorShape([None, k, None]),
        ),
    )
    penalty = tf.pow((5.0 + tf.cast(lengths, tf.float32)) / 6.0, length_penalty)
    best = tf.argmax(scores / penalty, axis=1, output_type=tf.int32)
    return tf.gather(sequences, best, batch_dims=1), tf.gather(scores, best, batch_dims=1)


def sequence_log_prob(decoder: LanguageDecoder, thought: Thought, ids: tf.Tensor) -> tf.Tensor:
    """Log-probability [B] the decoder gives `ids` (as search returns them: no BOS, EOS then padding)."""
    inputs = tf.concat([tf.fill([tf.shape(ids)[0], 1], BOS_ID), ids[:, :-1]], axis=1)
    log_probs = tf.nn.log_softmax(tf.cast(decoder.teacher_forced(inputs, thought), tf.float32))
    picked = tf.gather(log_probs, ids, batch_dims=2)
    return tf.reduce_sum(tf.where(ids == PAD_ID, 0.0, picked), axis=1)
