"""The one decode path: source ids -> thought -> (mapped thought) -> search -> output ids. `Pipeline`
(and so `Translator`, evaluation and validation) and the exported SavedModel both trace this."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

import tensorflow as tf

from plugmt.decoders.base import LanguageDecoder
from plugmt.decoders.search import beam_search, greedy_search
from plugmt.encoders.base import SharedEncoder
from plugmt.errors import PlugmtError
from plugmt.thought import Thought


def search_settings(beam_size: Any, length_penalty: Any) -> tuple[int, float]:
    """`beam_size` (a whole number >= 1) and `length_penalty` (a finite number) as search takes them;
    a bad one is refused in the commands' words (docs/BAD_INPUT.md rows 38, 51, 52)."""
    if isinstance(beam_size, bool) or not isinstance(beam_size, numbers.Integral) or beam_size < 1:
        raise PlugmtError(f"beam_size={beam_size}: it must be 1 (greedy) or more")
    allowed = "(allowed: a finite number, e.g. 0.6)"
    if isinstance(length_penalty, bool) or not isinstance(length_penalty, numbers.Real):
        raise PlugmtError(f"length_penalty={length_penalty}: not a number {allowed}")
    if not math.isfinite(length_penalty):
        raise PlugmtError(f"length_penalty={length_penalty}: not a finite number {allowed}")
    return int(beam_size), float(length_penalty)


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
