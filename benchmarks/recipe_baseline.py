"""The same-recipe baseline: plugmt's tutorial recipe, written as plain Keras with no plugmt code.

benchmarks/time_to_99.py races the seed tutorial as written (seed_baseline.py), this model, and
plugmt. This model takes the seed's *code* and swaps in plugmt's tutorial *recipe*, so the seed ÷
this ratio is what the recipe buys and the this ÷ plugmt ratio is what plugmt's code buys.

The recipe (conf/experiment/tutorial.yaml over training/settings.py, encoders/lstm.py,
decoders/lstm.py; time_to_99.py reads the numbers from the composed config and passes them in):

- characters; embedding 16 and LSTM 64 in the encoder (encoder.embed_dim, encoder.units), embedding
  16 in the decoder (decoder.embed_dim), whose LSTM is as wide as the thought (64);
- the source read backwards (encoder.reverse): each string is reversed before padding, which is what
  plugmt's tf.reverse_sequence over each row's length does; padding is masked out of the encoder;
- the decoder starts from the encoder's final (h, c) and reads only the previous character
  (decoder.feed_thought: false); teacher forcing;
- cross-entropy averaged over real target characters (padding ignored);
- Adam at learning rate 0.01 (train.learning_rate), gradients clipped to global norm 5
  (train.clip_norm) separately for the encoder and the decoder: plugmt gives each module its own
  Adam with global_clipnorm, and since Adam's update is per variable, one Adam fed per-module
  clipped gradients is the same update;
- batch 128 (train.batch_size).

What stays the seed's way, and so counts as *code*: one functional Keras model trained through
Keras' compiled train step (`train_on_batch`), every string padded to the corpus' longest, batches
shuffled over all date styles at once (plugmt draws each batch from one style and trims it to its
longest row), keras.layers.LSTM in the decoder (plugmt runs the same cell through keras.layers.RNN),
the seed's character table and its greedy loop (one `predict_on_batch` per output character).
"""

from __future__ import annotations

import keras
import tensorflow as tf


class ModuleClippedAdam(keras.optimizers.Adam):
    """Adam whose gradients are clipped to `clip_norm` in global norm per module.

    A variable's module is the first word of its layer's name ("encoder_lstm" -> "encoder"), so
    the encoder's and the decoder's gradients are clipped apart, as two Adams with global_clipnorm do.
    """

    def __init__(self, clip_norm: float, **kwargs) -> None:
        super().__init__(**kwargs)
        self.clip_norm = float(clip_norm)

    def apply(self, grads, trainable_variables=None):
        variables = list(self._trainable_variables if trainable_variables is None else trainable_variables)
        modules = [variable.path.split("/")[0].split("_")[0] for variable in variables]
        clipped = list(grads)
        for module in sorted(set(modules)):
            index = [i for i, name in enumerate(modules) if name == module]
            # Dense first, as Keras' own global_clipnorm makes them (an embedding's gradient is sparse).
            group, _ = tf.clip_by_global_norm([tf.convert_to_tensor(grads[i]) for i in index], self.clip_norm)
            for i, gradient in zip(index, group, strict=True):
                clipped[i] = gradient
        return super().apply(clipped, trainable_variables)


def build(
    source_vocab: int,
    target_vocab: int,
    encoder_embed: int = 16,
    decoder_embed: int = 16,
    units: int = 64,
    learning_rate: float = 0.01,
    clip_norm: float = 5.0,
):
    """(training model, encoder model, one-step decoder model), sharing weights, like
    seed_baseline.build; `seed_baseline.greedy` decodes with the last two. Reversing the source is
    the caller's: it reverses each string before encoding it."""
    source = keras.Input((None,), dtype="int32")
    target_in = keras.Input((None,), dtype="int32")
    embedded = keras.layers.Embedding(source_vocab, encoder_embed, mask_zero=True, name="encoder_embedding")(
        source
    )
    _, h, c = keras.layers.LSTM(units, return_state=True, name="encoder_lstm")(embedded)
    target_embedding = keras.layers.Embedding(target_vocab, decoder_embed, name="decoder_embedding")
    decoder_lstm = keras.layers.LSTM(units, return_sequences=True, return_state=True, name="decoder_lstm")
    project = keras.layers.Dense(target_vocab, name="decoder_project")
    outputs, _, _ = decoder_lstm(target_embedding(target_in), initial_state=[h, c])
    model = keras.Model([source, target_in], project(outputs))
    model.compile(
        optimizer=ModuleClippedAdam(clip_norm, learning_rate=learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0),
    )
    encoder = keras.Model(source, [h, c])
    token = keras.Input((1,), dtype="int32")
    h_in, c_in = keras.Input((units,)), keras.Input((units,))
    out, h_out, c_out = decoder_lstm(target_embedding(token), initial_state=[h_in, c_in])
    step = keras.Model([token, h_in, c_in], [project(out), h_out, c_out])
    return model, encoder, step
