"""Search over a decoder's `step`: one implementation serves every decoder architecture."""

from __future__ import annotations

import tensorflow as tf

from plugmt.decoders.base import LanguageDecoder
from plugmt.encoders.thought import Thought

BOS_ID = 2
EOS_ID = 3
PAD_ID = 0


def greedy_search(decoder: LanguageDecoder, thought: Thought, max_len: int) -> tf.Tensor:
    """Most likely next token at every step, until every sentence has ended or `max_len`.

    Returns ids [B, <= max_len] without BOS; positions after a sentence's EOS are padding (0), and
    EOS itself is kept so callers can tell a finished sentence from a truncated one.
    """
    batch = tf.shape(thought.pooled())[0]
    tokens = tf.fill([batch], BOS_ID)
    state = decoder.initial_state(thought)
    finished = tf.zeros([batch], dtype=tf.bool)
    outputs = tf.TensorArray(tf.int32, size=0, dynamic_size=True, element_shape=tf.TensorShape([None]))

    def keep_going(i, tokens, state, finished, outputs):
        return tf.logical_and(i < max_len, tf.logical_not(tf.reduce_all(finished)))

    def advance(i, tokens, state, finished, outputs):
        logits, state = decoder.step(tokens, state, thought)
        chosen = tf.argmax(logits, axis=-1, output_type=tf.int32)
        chosen = tf.where(finished, PAD_ID, chosen)
        outputs = outputs.write(i, chosen)
        finished = tf.logical_or(finished, tf.equal(chosen, EOS_ID))
        return i + 1, chosen, state, finished, outputs

    _, _, _, _, outputs = tf.while_loop(
        keep_going, advance, (tf.constant(0), tokens, state, finished, outputs)
    )
    return tf.transpose(outputs.stack())
