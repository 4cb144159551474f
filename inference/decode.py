"""The one decode path: source ids -> thought -> (mapped thought) -> search -> output ids. `Pipeline`
(and so `Translator`, evaluation and validation) and the exported SavedModel both trace this."""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

from plugmt.decoders.base import LanguageDecoder
from plugmt.decoders.search import beam_search, greedy_search
from plugmt.encoders.base import SharedEncoder
from plugmt.thought import Thought


def decode_ids(
    encoder: SharedEncoder,
    decoder: LanguageDecoder,
    ids: tf.Tensor,
    max_len: int,
    beam_size: int = 1,
    length_penalty: float = 0.0,
    adapt: Callable[[Thought], Thought] | None = None,
) -> tf.Tensor:
    """Output ids [B, <= max_len] (no BOS; EOS then padding) for source ids [B, S]: greedy, or beam
    search with `beam_size` > 1. `adapt` maps this encoder's thoughts for a foreign decoder."""
    thought = encoder.encode(ids)
    if adapt is not None:
        thought = adapt(thought)
    if beam_size > 1:
        return beam_search(decoder, thought, max_len, beam_size, length_penalty, source=ids)[0]
    return greedy_search(decoder, thought, max_len, source=ids)
