"""Evaluate a trained Keras model on a FaceSet: probabilities (with flip averaging) -> report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import keras
import numpy as np

from training.data import FaceSet
from training.metrics import classification_report, format_report
from training.pipelines import as_model_input


def predict_probs(
    model: keras.Model, images: np.ndarray, flip_tta: bool = True, batch_size: int = 256
) -> np.ndarray:
    """Class probabilities for (N, H, W) uint8 faces, averaged with the mirrored face if asked."""
    x = as_model_input(images)
    probs = model.predict(x, batch_size=batch_size, verbose=0)
    if flip_tta:
        probs = (probs + model.predict(x[:, :, ::-1], batch_size=batch_size, verbose=0)) / 2.0
    return np.asarray(probs, np.float64)


def evaluate_model(model: keras.Model, faces: FaceSet, flip_tta: bool = True) -> dict[str, Any]:
    """The classification report of ``model`` on ``faces``."""
    report = classification_report(faces.labels, predict_probs(model, faces.images, flip_tta))
    report["flip_tta"] = flip_tta
    return report


def write_report(report: dict[str, Any], run_dir: Path, name: str = "report") -> str:
    """Write ``<name>.json`` and ``<name>.txt`` into the run directory; return the table."""
    table = format_report(report)
    (run_dir / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    (run_dir / f"{name}.txt").write_text(table + "\n")
    return table
