"""The student stage's update (training/student.py): the distance between a student's thoughts and
its teacher's, by thought kind, and one compiled step that changes the student only."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from plugmt.corpora.batches import Batch
from plugmt.layers.losses import masked_cross_entropy
from plugmt.thought import Thought
from plugmt.training.settings import TrainSettings
from plugmt.training.step import learning_rate


def _spread_normalised(student: tf.Tensor, teacher: tf.Tensor) -> tf.Tensor:
    """Mean squared distance divided by the teacher's variance over the batch: 0 when equal, about
    1 for a student that only knows the teacher's mean, whatever the thoughts' scale."""
    teacher = tf.stop_gradient(teacher)
    spread = tf.reduce_mean(tf.math.reduce_variance(teacher, axis=0))
    return tf.reduce_mean(tf.square(student - teacher)) / (spread + 1e-6)


def thought_distance(student: Thought, teacher: Thought) -> tf.Tensor:
    """How far the student's thoughts are from the teacher's, by the thought's kind (module doc)."""
    if teacher.kind == "vector":
        parts = [_spread_normalised(s, t) for s, t in zip(student.states, teacher.states, strict=True)]
        return tf.add_n(parts) / len(parts)
    pooled = _spread_normalised(student.pooled(), teacher.pooled())
    if teacher.kind == "slots":
        return (pooled + _spread_normalised(student.memory, teacher.memory)) / 2.0
    return pooled


class StudentTrainer:
    """One compiled update of the student only; teacher and decoder are read, never changed.
    Progress lines show the whole objective as `loss` and the thought distance alone."""

    second_loss = "distance"

    def __init__(self, student: Any, teacher: Any, decoder: Any, settings: TrainSettings) -> None:
        optimizer = keras.optimizers.Adam(learning_rate(settings), global_clipnorm=settings.clip_norm)
        optimizer.build(student.trainable_variables)
        self.optimizers = {"encoder": optimizer}
        weight = float(settings.student_translation)
        ids = tf.TensorSpec([None, None], tf.int32)

        @tf.function(input_signature=[tf.TensorSpec([2, None, None], tf.int32), ids, ids])
        def step(sources, target_in, target_out):
            teacher_thought = teacher.encode(sources[1], training=False)
            with tf.GradientTape() as tape:
                thought = student.encode(sources[0], training=True)
                distance = thought_distance(thought, teacher_thought)
                translation = tf.constant(0.0)
                if weight > 0:
                    logits = decoder.teacher_forced(target_in, thought, training=False)
                    translation = masked_cross_entropy(target_out, logits)
                total = distance + weight * translation
            variables = student.trainable_variables
            optimizer.apply_gradients(zip(tape.gradient(total, variables), variables, strict=True))
            return tf.stack([total]), distance

        self.step = step

    def __call__(self, batch: Batch) -> tuple[np.ndarray, float]:
        losses, distance = self.step(batch.sources, batch.target_in[0], batch.target_out[0])
        return losses.numpy(), float(distance)
