"""Evaluate a trained Keras model on a FaceSet: probabilities (with flip averaging), a
temperature fitted on them, and the report of the calibrated graph."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from training import calibration, ferplus
from training.data import FaceSet
from training.inference import predict_probs
from training.report import val_report


def calibration_labels(faces: FaceSet, targets: str) -> tuple[np.ndarray, np.ndarray, str]:
    """(positions, labels, what they are) that a model trained for ``targets`` is calibrated
    against: the FER+ majority where there is one, or every FER-2013 label."""
    if targets == "ferplus" and faces.votes is not None:
        majority = ferplus.majority(faces.votes)
        keep = np.flatnonzero(majority >= 0)
        return keep, majority[keep], "FER+ majority"
    return np.arange(len(faces)), faces.labels, "FER-2013 labels"


def temperature_fit(probs: np.ndarray, faces: FaceSet, targets: str) -> dict[str, Any]:
    """Fit the temperature on these faces; ECE before, after, and cross-fitted (2 folds)."""
    keep, labels, what = calibration_labels(faces, targets)
    value = calibration.fit_temperature(probs[keep], labels)
    return {
        "value": value,
        "labels": what,
        "faces": int(len(keep)),
        "ece_before": calibration.expected_calibration_error(probs[keep], labels),
        "ece_after": calibration.expected_calibration_error(
            calibration.scale(probs[keep], value), labels
        ),
        "ece_after_cross_fitted": calibration.cross_fitted_ece(probs[keep], labels),
        "bins": calibration.ECE_BINS,
    }


def evaluate_probs(
    probs: np.ndarray, faces: FaceSet, targets: str, calibrate: bool = True
) -> dict[str, Any]:
    """The report of ``probs`` (N, 7), temperature-scaled first when ``calibrate``."""
    fit = temperature_fit(probs, faces, targets) if calibrate else None
    scaled = calibration.scale(probs, fit["value"]) if fit else probs
    report = val_report(faces.labels, faces.votes, scaled)
    report["targets"] = targets
    if fit:
        report["temperature"] = fit
    return report


def evaluate_model(
    model: keras.Model,
    faces: FaceSet,
    flip_tta: bool = True,
    shift: int = 0,
    targets: str = "fer2013",
    calibrate: bool = True,
) -> dict[str, Any]:
    """The report of ``model``'s inference graph (``training.inference``) on ``faces``, with a
    temperature fitted on them when ``calibrate`` (the exported graph then carries it)."""
    probs = predict_probs(model, faces.images, flip_tta, shift)
    report = evaluate_probs(probs, faces, targets, calibrate)
    report["flip_tta"], report["tta_shift"] = flip_tta, shift
    return report
