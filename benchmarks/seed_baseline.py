"""The yardstick: the seed tutorial's model written plainly in Keras, as its description gives it.

Character level, embedding 10, LSTM 32 units, the encoder's final (h, c) initialises the decoder,
teacher forcing, RMSProp 1e-3 with TF1 semantics, batch 128, English dates in human formats -> ISO.
Deliberately separate from plugmt (it shares only the phrasebook text): it is what plugmt is
measured against, not a feature.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf


class TF1RMSprop(keras.optimizers.RMSprop):
    """RMSProp as TF1 had it: mean-square slots start at 1, and epsilon sits inside the sqrt."""

    def build(self, variables):
        super().build(variables)
        for velocity in self._velocities:
            velocity.assign(tf.ones_like(velocity))

    def update_step(self, gradient, variable, learning_rate):
        velocity = self._velocities[self._get_variable_index(variable)]
        rho = self.rho
        lr = tf.cast(learning_rate, variable.dtype)
        self.assign(velocity, rho * velocity + (1 - rho) * tf.square(gradient))
        self.assign_sub(variable, lr * gradient / tf.sqrt(velocity + self.epsilon))


class CharTable:
    """The tutorial's character dictionaries: 0 padding, 1 start, 2 end, then every character seen."""

    def __init__(self, texts: list[str]) -> None:
        self.chars = sorted({ch for text in texts for ch in text})
        self.index = {ch: i + 3 for i, ch in enumerate(self.chars)}

    @property
    def size(self) -> int:
        return len(self.chars) + 3

    def encode(self, texts: list[str], width: int, ends: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), width), dtype=np.int32)
        for row, text in enumerate(texts):
            ids = [self.index.get(ch, 0) for ch in text] + ([2] if ends else [])
            out[row, : len(ids)] = ids[:width]
        return out

    def decode(self, rows: np.ndarray) -> list[str]:
        texts = []
        for row in rows:
            chars = []
            for i in row:
                if i == 2:
                    break
                if i >= 3:
                    chars.append(self.chars[i - 3])
            texts.append("".join(chars))
        return texts


def build(source_vocab: int, target_vocab: int, embed: int = 10, units: int = 32):
    """(training model, encoder model, one-step decoder model), sharing weights."""
    source = keras.Input((None,), dtype="int32")
    target_in = keras.Input((None,), dtype="int32")
    embedded = keras.layers.Embedding(source_vocab, embed, mask_zero=True)(source)
    _, h, c = keras.layers.LSTM(units, return_state=True)(embedded)
    target_embedding = keras.layers.Embedding(target_vocab, embed)
    decoder_lstm = keras.layers.LSTM(units, return_sequences=True, return_state=True)
    project = keras.layers.Dense(target_vocab)
    outputs, _, _ = decoder_lstm(target_embedding(target_in), initial_state=[h, c])
    model = keras.Model([source, target_in], project(outputs))
    model.compile(
        optimizer=TF1RMSprop(learning_rate=1e-3, rho=0.9, epsilon=1e-10),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    encoder = keras.Model(source, [h, c])
    token = keras.Input((1,), dtype="int32")
    h_in, c_in = keras.Input((units,)), keras.Input((units,))
    out, h_out, c_out = decoder_lstm(target_embedding(token), initial_state=[h_in, c_in])
    step = keras.Model([token, h_in, c_in], [project(out), h_out, c_out])
    return model, encoder, step


def greedy(encoder, step, source_ids: np.ndarray, max_len: int) -> np.ndarray:
    """The tutorial's inference loop: one decoder call per output character."""
    h, c = encoder.predict_on_batch(source_ids)
    token = np.ones((len(source_ids), 1), dtype=np.int32)
    out = []
    for _ in range(max_len):
        logits, h, c = step.predict_on_batch([token, h, c])
        token = np.argmax(logits[:, -1], axis=-1).astype(np.int32)[:, None]
        out.append(token[:, 0])
    return np.stack(out, axis=1)
