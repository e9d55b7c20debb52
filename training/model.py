"""MobileNet-family classifier whose graph takes raw grayscale face crops."""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import keras

from training.augment import build_augmenter
from training.errors import TrainingError
from training.labels import CROP_SIZE, EMOTIONS

BACKBONES = ("mobilenet", "mobilenet_v2", "mobilenet_v3_small")
BACKBONE_LAYER = "backbone"


def _backbone(name: str, input_size: int, alpha: float, weights: str | None) -> keras.Model:
    shape = (input_size, input_size, 3)
    if name == "mobilenet":
        net = keras.applications.MobileNet(
            input_shape=shape, alpha=alpha, include_top=False, weights=weights, pooling="avg"
        )
    elif name == "mobilenet_v2":
        net = keras.applications.MobileNetV2(
            input_shape=shape, alpha=alpha, include_top=False, weights=weights, pooling="avg"
        )
    elif name == "mobilenet_v3_small":
        # Our own Rescaling layer normalises, so the backbone's built-in one stays off.
        net = keras.applications.MobileNetV3Small(
            input_shape=shape,
            alpha=alpha,
            include_top=False,
            weights=weights,
            pooling="avg",
            include_preprocessing=False,
        )
    else:
        raise TrainingError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}")
    net.name = BACKBONE_LAYER
    return net


def _missing_imagenet_weights(fetch_error: str) -> TrainingError:
    """The one-line error for ImageNet weights Keras could neither find nor download."""
    url = re.search(r"https?://\S+?(?=:? |$)", fetch_error)
    file_name = url.group(0).rsplit("/", 1)[-1] if url else "the ImageNet weights file"
    cache = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"
    return TrainingError(
        f"ImageNet weights {file_name} are not in {cache} and cannot be downloaded; "
        "set KERAS_HOME to a folder whose models/ holds that file, or pass "
        "--weights none (random start) or --weights PATH (a backbone weights file)"
    )


def build_model(
    backbone: str = "mobilenet",
    input_size: int = 96,
    alpha: float = 1.0,
    weights: str = "imagenet",
    dropout: float = 0.3,
    crop_size: int = CROP_SIZE,
    augment: float = 0.0,
    erasing: float = 0.0,
    seed: int = 1337,
) -> keras.Model:
    """Face crop (N, crop, crop, 1) float32 in 0..255 -> emotion probabilities (N, 7).

    Resizing to the backbone's input, gray-to-RGB and [-1, 1] scaling are layers of the model,
    so an exported graph needs no preprocessing outside it. ``weights`` is ``imagenet``,
    ``none`` or the path of a Keras weights file for the backbone. ``augment`` > 0 (strength)
    or ``erasing`` > 0 put ``training.augment``'s layers first; they act only in training.
    """
    keras_weights: str | None
    weights_file: Path | None = None
    if weights == "imagenet":
        keras_weights = "imagenet"
    elif weights == "none":
        keras_weights = None
    else:
        weights_file = Path(weights)
        if not weights_file.is_file():
            raise TrainingError(f"backbone weights file {weights_file} does not exist")
        keras_weights = None
    try:
        with warnings.catch_warnings():
            # ImageNet weights exist for 224 px; below it Keras warns that it loads those, which
            # is what fine-tuning at 48-96 px wants.
            warnings.filterwarnings("ignore", message=".*input_shape. is undefined or non-square")
            net = _backbone(backbone, input_size, alpha, keras_weights)
    except Exception as exc:
        if keras_weights == "imagenet" and "URL fetch failure" in str(exc):
            raise _missing_imagenet_weights(str(exc)) from None
        raise
    if weights_file is not None:
        net.load_weights(str(weights_file))

    face = keras.Input((crop_size, crop_size, 1), name="face")
    x = face
    if augment > 0 or erasing > 0:
        x = build_augmenter(seed, augment, erasing)(x)
    x = keras.layers.Resizing(input_size, input_size, interpolation="bilinear", name="resize")(x)
    x = keras.layers.Concatenate(name="gray_to_rgb")([x, x, x])
    x = keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="scale")(x)
    x = net(x)
    x = keras.layers.Dropout(dropout, name="dropout")(x)
    probs = keras.layers.Dense(len(EMOTIONS), activation="softmax", name="emotion")(x)
    return keras.Model(face, probs, name=f"fer_{backbone}_{input_size}")


def set_backbone_trainable(model: keras.Model, trainable: bool, freeze_batchnorm: bool) -> None:
    """Freeze or unfreeze the backbone; batch-norm layers can stay frozen while it trains."""
    net = model.get_layer(BACKBONE_LAYER)
    net.trainable = trainable
    if trainable and freeze_batchnorm:
        for layer in net.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.trainable = False
