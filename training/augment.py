"""Training-time augmentation: the classic ImageDataGenerator recipe as Keras layers, and mixup."""

from __future__ import annotations

import keras
import tensorflow as tf


def build_augmenter(seed: int, strength: float = 1.0) -> keras.Sequential:
    """Flip, small rotation, shift, zoom, brightness and contrast on 0..255 grayscale batches."""
    s = strength
    return keras.Sequential(
        [
            keras.layers.RandomFlip("horizontal", seed=seed),
            keras.layers.RandomRotation(0.04 * s, fill_mode="reflect", seed=seed + 1),  # ~15 deg
            keras.layers.RandomTranslation(0.1 * s, 0.1 * s, fill_mode="reflect", seed=seed + 2),
            keras.layers.RandomZoom(0.1 * s, fill_mode="reflect", seed=seed + 3),
            keras.layers.RandomBrightness(0.2 * s, value_range=(0.0, 255.0), seed=seed + 4),
            keras.layers.RandomContrast(0.2 * s, value_range=(0.0, 255.0), seed=seed + 5),
        ],
        name="augment",
    )


def mixup(
    images: tf.Tensor, targets: tf.Tensor, weights: tf.Tensor, alpha: float
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Blend each example with a shuffled partner (Zhang et al. 2018), targets and weights alike."""
    batch = tf.shape(images)[0]
    gamma_a = tf.random.gamma([batch], alpha)
    gamma_b = tf.random.gamma([batch], alpha)
    lam = gamma_a / (gamma_a + gamma_b)
    partner = tf.random.shuffle(tf.range(batch))
    lam_img = tf.reshape(lam, [-1, 1, 1, 1])
    lam_vec = tf.reshape(lam, [-1, 1])
    mixed_images = lam_img * images + (1.0 - lam_img) * tf.gather(images, partner)
    mixed_targets = lam_vec * targets + (1.0 - lam_vec) * tf.gather(targets, partner)
    mixed_weights = lam * weights + (1.0 - lam) * tf.gather(weights, partner)
    return mixed_images, mixed_targets, mixed_weights
