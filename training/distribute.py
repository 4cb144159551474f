"""Data parallelism: the training step split over devices (or hosts) with tf.distribute.

Every replica gets the whole batch and trains on its own slice of rows, so a multi-worker run needs
no input sharding: each worker draws the same seeded batches and picks its replicas' rows. The
losses are normalised by *global* counts (tokens, rows, the thought spread) gathered with
all-reduce, and gradients are summed and clipped as one global gradient, so a distributed step makes
the same update as the single-device step on the same global batch.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
from collections.abc import Iterator, Mapping
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from plugmt.corpora.batches import Batch
from plugmt.errors import PlugmtError
from plugmt.layers.losses import token_losses
from plugmt.thought import PAD_ID
from plugmt.training.settings import STRATEGIES, TrainSettings
from plugmt.training.step import learning_rate, losses_and_gradients, per_group, step_signature

SUM = tf.distribute.ReduceOp.SUM


@functools.cache
def make_strategy(name: str) -> tf.distribute.Strategy | None:
    """train.strategy: None for `none` (the plain single-device step), else a tf.distribute strategy.

    One per process: TensorFlow allows a single MultiWorkerMirroredStrategy, created before any op.
    """
    if name == "none":
        return None
    if name == "mirrored":
        # Every local GPU; without one, every logical CPU (one unless split on purpose).
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    if name == "multi_worker":
        raw = os.environ.get("TF_CONFIG")
        if raw:
            try:
                json.loads(raw)
            except json.JSONDecodeError as error:
                raise PlugmtError(f"TF_CONFIG is not valid JSON ({error}); see tf.distribute docs") from None
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise PlugmtError(f"train.strategy={name!r} is not one of: {', '.join(STRATEGIES)}")


@contextlib.contextmanager
def scope(strategy: tf.distribute.Strategy | None) -> Iterator[None]:
    """Variables made inside belong to the strategy (mirrored on every replica); none: no-op."""
    if strategy is None:
        yield
    else:
        with strategy.scope():
            yield


def worker_suffix(strategy: tf.distribute.Strategy | None) -> str:
    """'' on the chief (or a single host); `worker-<i>` on other workers, which checkpoint apart."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return ""
    kind, index = resolver.task_type, resolver.task_id
    no_chief = "chief" not in resolver.cluster_spec().jobs
    if kind == "chief" or (kind == "worker" and index == 0 and no_chief):
        return ""
    return f"{kind}-{index}"


def _rows(x: tf.Tensor, axis: int) -> tf.Tensor:
    """This replica's slice of the batch rows along `axis`."""
    context = tf.distribute.get_replica_context()
    replicas = context.num_replicas_in_sync
    size = tf.shape(x)[axis] // replicas
    begin = tf.cast(context.replica_id_in_sync_group, tf.int32) * size
    return tf.gather(x, tf.range(begin, begin + size), axis=axis)


def _global_sum(x: tf.Tensor) -> tf.Tensor:
    return tf.distribute.get_replica_context().all_reduce(SUM, x)


def _masked_cross_entropy_part(target: tf.Tensor, logits: tf.Tensor, smoothing: float = 0.0) -> tf.Tensor:
    """This replica's share of the global masked mean: summed over replicas, the single-device loss."""
    mask = tf.cast(tf.not_equal(target, PAD_ID), tf.float32)
    losses = token_losses(target, logits, smoothing)
    tokens = tf.stop_gradient(_global_sum(tf.reduce_sum(mask)))
    return tf.reduce_sum(losses * mask) / tf.maximum(tokens, 1.0)


def _alignment_part(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """This replica's share of `alignment_loss` over the global batch (spread from global moments).

    The all-reduce is differentiable (its gradient is an all-reduce), so each replica's gradient
    also carries what its rows do to the global spread.
    """
    both = tf.concat([a, b], axis=0)
    count = tf.stop_gradient(_global_sum(tf.cast(tf.shape(both)[0], both.dtype)))
    mean = _global_sum(tf.reduce_sum(both, axis=0)) / count
    # Two passes (mean, then squared deviations), as reduce_variance: E[x²] - E[x]² cancels badly.
    spread = tf.reduce_mean(_global_sum(tf.reduce_sum(tf.square(both - mean), axis=0)) / count)
    width = tf.cast(tf.shape(a)[1], a.dtype)
    return tf.reduce_sum(tf.square(a - b)) / (count / 2 * width) / (spread + 1e-6)


class DistributedTrainer:
    """`Trainer`'s update under a tf.distribute strategy; same call, same result to float tolerance.

    The optimizers are built without clipping: the step clips the all-reduced gradient itself
    (Keras would clip each replica's part before summing, which is another update).
    """

    second_loss = "align"

    def __init__(
        self,
        strategy: tf.distribute.Strategy,
        encoder: Any,
        decoders: Mapping[str, Any],
        settings: TrainSettings,
        train_encoder: bool,
        sources: int,
    ) -> None:
        self.strategy = strategy
        self.decoders = dict(decoders)
        replicas = strategy.num_replicas_in_sync
        if settings.batch_tokens is not None:
            raise PlugmtError(
                f"train.batch_tokens={settings.batch_tokens} makes batches of varying rows, which "
                f"train.strategy={settings.strategy} cannot split over replicas; use train.batch_size"
            )
        if settings.batch_size % replicas:
            raise PlugmtError(
                f"train.batch_size={settings.batch_size} does not split over {replicas} replicas; "
                f"use a multiple of {replicas}"
            )
        with strategy.scope():
            self.optimizers = {lang: keras.optimizers.Adam(learning_rate(settings)) for lang in self.decoders}
            for lang, decoder in self.decoders.items():
                self.optimizers[lang].build(decoder.trainable_variables)
            if train_encoder:
                self.optimizers["encoder"] = keras.optimizers.Adam(learning_rate(settings))
                self.optimizers["encoder"].build(encoder.trainable_variables)
        clip_norm = settings.clip_norm

        def replica_step(source, target_in, target_out, source_index):
            losses, alignment, groups, grads = losses_and_gradients(
                encoder,
                self.decoders,
                self.optimizers,
                settings,
                train_encoder,
                sources,
                (source, target_in, target_out, source_index),
                rows=_rows,
                cross_entropy=_masked_cross_entropy_part,
                align_fn=_alignment_part,
            )
            # Embedding gradients stay IndexedSlices: Keras's single-device clipping norm counts a
            # row once per lookup, and the concatenated slices of all replicas give the same norm.
            grads = _global_sum(grads)
            for optimizer, variables, chunk in per_group(groups, grads):
                if clip_norm:
                    chunk, _ = tf.clip_by_global_norm(chunk, clip_norm)
                # Keras sums the replicas' gradients again: each passes its equal share, dense (Adam
                # would square duplicated slices one by one).
                chunk = [tf.convert_to_tensor(g) / replicas for g in chunk]
                optimizer.apply_gradients(zip(chunk, variables, strict=True))
            return _global_sum(losses), _global_sum(alignment)

        signature = step_signature(sources, len(self.decoders))

        @tf.function(input_signature=signature)
        def step(source, target_in, target_out, source_index):
            losses, alignment = strategy.run(replica_step, args=(source, target_in, target_out, source_index))
            # Every replica holds the same all-reduced values: read the first.
            first = strategy.experimental_local_results
            return first(losses)[0], first(alignment)[0]

        self.step = step

    def __call__(self, batch: Batch) -> tuple[np.ndarray, float]:
        losses, alignment = self.step(batch.sources, batch.target_in, batch.target_out, batch.source_index)
        return losses.numpy(), float(alignment)
