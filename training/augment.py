"""Training-time augmentation as Keras layers inside the model graph.

The layers run on the training backend's own kernels (no tf.data needed under torch) and are
the identity at inference, so the exported ONNX graph is unaffected.
"""

from __future__ import annotations

import keras

ROTATION_DEGREES = 10.0
SHIFT = 0.1
ZOOM = 0.15


def build_augmenter(seed: int, strength: float = 1.0, erasing: float = 0.0) -> keras.Sequential:
    """Flip, rotation (+-10 deg), shift (10%), zoom (+-15%), brightness and contrast (20%) on
    0..255 grayscale batches (B, H, W, 1), each range times ``strength``; then random erasing of
    one rectangle with probability ``erasing`` (Zhong et al. 2020)."""
    s = strength
    layers: list[keras.layers.Layer] = [
        keras.layers.RandomFlip("horizontal", seed=seed),
        keras.layers.RandomRotation(ROTATION_DEGREES / 360 * s, fill_mode="reflect", seed=seed + 1),
        keras.layers.RandomTranslation(SHIFT * s, SHIFT * s, fill_mode="reflect", seed=seed + 2),
        keras.layers.RandomZoom(ZOOM * s, fill_mode="reflect", seed=seed + 3),
        keras.layers.RandomBrightness(0.2 * s, value_range=(0.0, 255.0), seed=seed + 4),
        keras.layers.RandomContrast(0.2 * s, value_range=(0.0, 255.0), seed=seed + 5),
    ]
    if erasing > 0:
        layers.append(
            keras.layers.RandomErasing(
                factor=erasing, scale=(0.02, 0.25), value_range=(0.0, 255.0), seed=seed + 6
            )
        )
    return keras.Sequential(layers, name="augment")
