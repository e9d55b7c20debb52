"""tf.data pipelines over FaceSets: cached, shuffled, augmented (training only) and prefetched."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from training.augment import build_augmenter, mixup
from training.data import FaceSet
from training.labels import EMOTIONS


def as_model_input(images: np.ndarray) -> np.ndarray:
    """(N, H, W) uint8 faces -> (N, H, W, 1) float32 in 0..255, the exported graph's input."""
    return images[..., np.newaxis].astype(np.float32)


def make_dataset(
    faces: FaceSet,
    batch_size: int,
    training: bool,
    seed: int = 1337,
    weights: np.ndarray | None = None,
    augment_strength: float = 1.0,
    mixup_alpha: float = 0.0,
    max_batches: int | None = None,
) -> tf.data.Dataset:
    """Batches of (images, one-hot targets, sample weights).

    Augmentation and mixup run only when ``training``; evaluation data stays untouched.
    """
    n_classes = len(EMOTIONS)
    per_class = weights if weights is not None else np.ones(n_classes, np.float32)
    ds = tf.data.Dataset.from_tensor_slices(
        (
            as_model_input(faces.images),
            np.eye(n_classes, dtype=np.float32)[faces.labels],
            per_class[faces.labels].astype(np.float32),
        )
    ).cache()
    if training:
        ds = ds.shuffle(len(faces), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=training and len(faces) >= batch_size)
    if training and augment_strength > 0:
        augmenter = build_augmenter(seed, augment_strength)
        ds = ds.map(
            lambda x, y, w: (augmenter(x, training=True), y, w),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    if training and mixup_alpha > 0:
        ds = ds.map(
            lambda x, y, w: mixup(x, y, w, mixup_alpha), num_parallel_calls=tf.data.AUTOTUNE
        )
    if max_batches is not None:
        ds = ds.take(max_batches)
    return ds.prefetch(tf.data.AUTOTUNE)
