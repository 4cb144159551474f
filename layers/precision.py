"""Training precision (`train.precision`): float32, or bfloat16 compute with float32 weights.

`bf16` is Keras's `mixed_bfloat16` policy: layers built under it compute in bfloat16 (oneDNN runs
bfloat16 matmuls at twice the float32 rate on CPUs with AVX512_BF16) and keep float32 variables,
so a stored module's weights are float32 whatever precision trained it, and any module plugs into
any run. What must stay exact stays float32: the thought an encoder hands on (`SharedEncoder`), the
logits a decoder returns (`LanguageDecoder`), the softmax of attention, losses and the alignment term.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import keras

# train.precision -> the Keras dtype policy of the layers a stage builds
POLICIES = {"float32": "float32", "bf16": "mixed_bfloat16"}


@contextmanager
def precision(name: str) -> Iterator[None]:
    """Layers built inside compute in `name` (a key of POLICIES); the global policy is restored after."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(POLICIES[str(name)])
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
