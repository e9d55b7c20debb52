"""The inference graph: the classifier averaged with its output on the mirrored face.

One implementation, used by evaluation, prediction and export, so the accuracy a run reports
comes from the same graph that is exported to ONNX.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from training.datasets import as_model_input

INPUT_NAME = "face"


@keras.saving.register_keras_serializable(package="training")
class HorizontalFlip(keras.layers.Layer):
    """Mirror images left-right (axis 2 of NHWC)."""

    def call(self, inputs: Any) -> Any:
        return keras.ops.flip(inputs, axis=2)


def inference_model(model: keras.Model, flip_tta: bool) -> keras.Model:
    """(N, 48, 48, 1) float32 faces in 0..255 -> (N, 7) probabilities; mirror-averaged if asked."""
    if not flip_tta:
        return model
    face = keras.Input(model.input_shape[1:], name=INPUT_NAME)
    probs = keras.layers.Average(name="probabilities")(
        [model(face), model(HorizontalFlip(name="mirror")(face))]
    )
    return keras.Model(face, probs, name=f"{model.name}_flip_tta")


def predict_probs(
    model: keras.Model, images: np.ndarray, flip_tta: bool = True, batch_size: int = 256
) -> np.ndarray:
    """(N, 48, 48) uint8 faces -> (N, 7) float64 probabilities of ``inference_model``."""
    graph = inference_model(model, flip_tta)
    probs = graph.predict(as_model_input(images), batch_size=batch_size, verbose=0)
    return np.asarray(probs, np.float64)
