"""The settings of plugmt's own decoders: each dataclass is the Hydra option `decoder=<name>`.

They live apart from the layers and import no TensorFlow, so composing a config (`--help`, `--cfg`,
shell completion, checking an override) never starts TensorFlow; `plugmt.registry` imports a
layer's module only to build it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LSTMDecoderConfig", "TransformerDecoderConfig"]


@dataclass
class LSTMDecoderConfig:
    name: str = "lstm"
    # Language this decoder writes; set by the training mode (joint: every target of data.pairs).
    lang: str | None = None
    embed_dim: int = 32
    # Feed the thought vector into every step as well as the initial state (Cho et al. 2014). The
    # decoder then need not carry the whole sentence in its state; false is the tutorial's decoder.
    feed_thought: bool = True
    # LSTM units; null = the thought's width. A vector thought *is* the initial state, so there it
    # must be null or that width; with slots or memory any size works.
    units: int | None = None
    # Dropout while training on the embedded inputs and on the outputs before the projection (0: none,
    # and no layer is built). Decoding (`step`) never drops.
    dropout: float = 0.0


@dataclass
class TransformerDecoderConfig:
    name: str = "transformer"
    lang: str | None = None
    d_model: int = 64
    heads: int = 4
    layers: int = 2
    ffn: int = 128
    dropout: float = 0.1
    positions: str = "sinusoidal"  # sinusoidal | learned
    max_len: int = 128  # learned positions: the table's rows (the longest output); sinusoidal: unused
    tie_embeddings: bool = True  # output projection = target embeddings, transposed (Press & Wolf 2017)


CONFIGS = (
    LSTMDecoderConfig,
    TransformerDecoderConfig,
)
