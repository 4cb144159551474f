"""The settings of plugmt's own encoders: each dataclass is the Hydra option `encoder=<name>`.

They live apart from the layers and import no TensorFlow, so composing a config (`--help`, `--cfg`,
shell completion, checking an override) never starts TensorFlow; `plugmt.registry` imports a
layer's module only to build it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

__all__ = ["BridgeEncoderConfig", "LSTMEncoderConfig", "TransformerEncoderConfig"]


@dataclass
class LSTMEncoderConfig:
    thought_kind: ClassVar[str] = "vector"  # the thought it makes (plugmt.thought)
    name: str = "lstm"
    embed_dim: int = 32
    units: int = 128
    # Read each sentence backwards (Sutskever et al. 2014): the first words of the target are then
    # the last the encoder saw, which makes a thought-vector model learn several times faster.
    reverse: bool = True
    # Dropout on the embedded tokens while training (0: none, and no layer is built, so a module
    # trained without it is the one it always was).
    dropout: float = 0.0


@dataclass
class BridgeEncoderConfig:
    thought_kind: ClassVar[str] = "slots"  # the thought it makes (plugmt.thought)
    name: str = "bridge"
    body: str = "lstm"  # lstm (bidirectional, d_model/2 units each way) | transformer
    d_model: int = 128  # width of every state and slot
    slots: int = 10  # K: vectors per sentence
    attention_units: int = 128  # hidden size of the K queries' scoring layer
    # The transformer body's settings (as encoder=transformer):
    heads: int = 4
    layers: int = 2
    ffn: int = 256
    dropout: float = 0.1
    positions: str = "sinusoidal"
    max_len: int = 256


@dataclass
class TransformerEncoderConfig:
    thought_kind: ClassVar[str] = "memory"  # the thought it makes (plugmt.thought)
    name: str = "transformer"
    d_model: int = 64
    heads: int = 4
    layers: int = 2
    ffn: int = 128
    dropout: float = 0.1
    positions: str = "sinusoidal"  # sinusoidal | learned
    max_len: int = 256  # learned positions: the longest source
    # Drop the residual connection around self-attention in the middle layer (Liu et al. 2021):
    # states above it keep less of each token's position, which helps zero-shot directions.
    drop_middle_residual: bool = False


CONFIGS = (
    LSTMEncoderConfig,
    BridgeEncoderConfig,
    TransformerEncoderConfig,
)

# The kind of thought each of plugmt's own encoders makes, by name: settings are checked against it
# before TensorFlow starts (another package's encoder is checked once it is built).
THOUGHT_KINDS: dict[str, str] = {config.name: config.thought_kind for config in CONFIGS}
