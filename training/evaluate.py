"""Evaluate a trained Keras model on a FaceSet: probabilities (with flip averaging) -> report."""

from __future__ import annotations

from typing import Any

import keras

from training.data import FaceSet
from training.inference import predict_probs
from training.report import classification_report


def evaluate_model(
    model: keras.Model, faces: FaceSet, flip_tta: bool = True, shift: int = 0
) -> dict[str, Any]:
    """The classification report of ``model``'s inference graph (``training.inference``)."""
    probs = predict_probs(model, faces.images, flip_tta, shift)
    report = classification_report(faces.labels, probs)
    report["flip_tta"], report["tta_shift"] = flip_tta, shift
    return report
