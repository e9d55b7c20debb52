"""The inference graph averages the classifier over its test-time views, and exports as such."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from training.data import load_folder_split


@pytest.fixture(scope="module")
def small_model():
    """A tiny convolutional classifier, (N, 48, 48, 1) -> (N, 7): not symmetric, so every
    view gives a different answer."""
    import keras

    keras.utils.set_random_seed(0)
    face = keras.Input((48, 48, 1))
    x = keras.layers.Rescaling(1 / 255)(face)
    x = keras.layers.Conv2D(8, 5, strides=2, activation="relu")(x)
    x = keras.layers.Flatten()(x)
    return keras.Model(face, keras.layers.Dense(7, activation="softmax")(x))


def test_views_are_the_face_its_mirror_and_two_shifts(small_model, small_fer_folder: Path) -> None:
    from training.inference import inference_model

    faces = load_folder_split(small_fer_folder / "val", progress=False).images[:6]
    x = faces[..., None].astype(np.float32)
    pad = np.pad(x, [(0, 0), (0, 0), (2, 2), (0, 0)], mode="reflect")
    views = [x, x[:, :, ::-1], pad[:, :, 0:48], pad[:, :, 4:52]]
    expected = np.mean([small_model.predict(v, verbose=0) for v in views], axis=0)
    got = inference_model(small_model, flip_tta=True, shift=2).predict(x, verbose=0)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert float(np.abs(got - got.mean(axis=0)).max()) > 1e-4  # faces differ


def test_the_shifted_views_export_with_parity(
    small_model, small_fer_folder: Path, tmp_path: Path
) -> None:
    from training import export

    faces = load_folder_split(small_fer_folder / "val", progress=False).images[:32]
    target = tmp_path / "tta.onnx"
    path, parity = export.export_model(
        small_model, target, {"name": "tta"}, faces, flip_tta=True, shift=2
    )
    assert parity["passed"] and parity["max_abs_diff"] <= 1e-4
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (out,) = session.run(
        None, {session.get_inputs()[0].name: faces[:1, :, :, None].astype(np.float32)}
    )
    assert out.shape == (1, 7)
