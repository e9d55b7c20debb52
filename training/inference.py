"""The inference graph: the classifier averaged over test-time views of each face.

One implementation, used by evaluation, prediction and export, so the accuracy a run reports
comes from the same graph that is exported to ONNX. Views: the face, its mirror image
(``flip``), and the face shifted left and right by ``shift`` pixels (edges reflected). All
views of a batch go through the classifier as one batch (one call, not one per view).
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from training.data import as_model_input

INPUT_NAME = "face"


@keras.saving.register_keras_serializable(package="training")
class TestTimeViews(keras.layers.Layer):
    """(N, H, W, C) faces -> (V * N, H, W, C): the views stacked view by view."""

    def __init__(self, flip: bool = True, shift: int = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.flip, self.shift = flip, shift

    @property
    def count(self) -> int:
        """How many views each face gets."""
        return 1 + int(self.flip) + 2 * int(self.shift > 0)

    def call(self, inputs: Any) -> Any:
        views = [inputs]
        if self.flip:
            views.append(keras.ops.flip(inputs, axis=2))
        if self.shift > 0:
            s = self.shift
            width = inputs.shape[2]
            padded = keras.ops.pad(inputs, [[0, 0], [0, 0], [s, s], [0, 0]], mode="reflect")
            views.append(padded[:, :, 0:width, :])  # content moved right by s
            views.append(padded[:, :, 2 * s : 2 * s + width, :])  # moved left by s
        return keras.ops.concatenate(views, axis=0)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        batch = input_shape[0]
        return (None if batch is None else batch * self.count, *input_shape[1:])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "flip": self.flip, "shift": self.shift}


@keras.saving.register_keras_serializable(package="training")
class ViewAverage(keras.layers.Layer):
    """(V * N, K) probabilities, stacked view by view -> (N, K), their mean over views."""

    def __init__(self, count: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.count = count

    def call(self, inputs: Any) -> Any:
        classes = inputs.shape[-1]
        return keras.ops.mean(keras.ops.reshape(inputs, (self.count, -1, classes)), axis=0)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        batch = input_shape[0]
        return (None if batch is None else batch // self.count, input_shape[-1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "count": self.count}


@keras.saving.register_keras_serializable(package="training")
class Temperature(keras.layers.Layer):
    """(N, K) probabilities -> softmax(log(p) / T): temperature scaling (``training.calibration``)
    applied to the view-averaged probabilities; the top-1 class never changes."""

    def __init__(self, temperature: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.temperature = temperature

    def call(self, inputs: Any) -> Any:
        log_p = keras.ops.log(keras.ops.clip(inputs, 1e-12, 1.0))
        return keras.ops.softmax(log_p / self.temperature, axis=-1)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "temperature": self.temperature}


def inference_model(
    model: keras.Model, flip_tta: bool, shift: int = 0, temperature: float = 1.0
) -> keras.Model:
    """(N, 48, 48, 1) float32 faces in 0..255 -> (N, 7) probabilities averaged over views, then
    temperature-scaled when ``temperature`` is not 1."""
    if not flip_tta and shift <= 0 and temperature == 1.0:
        return model
    face = keras.Input(model.input_shape[1:], name=INPUT_NAME)
    probs = model(face)
    if flip_tta or shift > 0:
        views = TestTimeViews(flip_tta, shift, name="views")
        probs = ViewAverage(views.count, name="probabilities")(model(views(face)))
    if temperature != 1.0:
        probs = Temperature(temperature, name="calibrated")(probs)
    return keras.Model(face, probs, name=f"{model.name}_tta")


def predict_probs(
    model: keras.Model,
    images: np.ndarray,
    flip_tta: bool = True,
    shift: int = 0,
    batch_size: int = 256,
) -> np.ndarray:
    """(N, 48, 48) uint8 faces -> (N, 7) float64 probabilities of ``inference_model``."""
    graph = inference_model(model, flip_tta, shift)
    probs = graph.predict(as_model_input(images), batch_size=batch_size, verbose=0)
    return np.asarray(probs, np.float64)
