"""Predict emotions for face images (files or folders) with a Keras or an ONNX model."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from training.data import IMAGE_SUFFIXES, DataError, as_model_input, decode_face
from training.errors import TrainingError
from training.labels import CROP_SIZE, EMOTIONS


def collect_images(paths: Iterable[Path]) -> list[Path]:
    """Image files named directly or found (recursively) in the given folders."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
            )
        elif path.is_file():
            found.append(path)
        else:
            raise DataError(f"{path} does not exist")
    if not found:
        raise DataError("no images to predict on")
    return found


def onnx_probabilities(model_path: Path, faces: np.ndarray, batch: int = 256) -> np.ndarray:
    """(N, 7) probabilities of an exported classifier for (N, 48, 48, 1) float32 faces, by
    onnxruntime in batches; TrainingError when the file does not load."""
    import onnxruntime as ort

    try:
        session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors for bad files
        raise TrainingError(f"cannot load model {model_path}: {exc}") from None
    name = session.get_inputs()[0].name
    return np.concatenate([session.run(None, {name: faces[i : i + batch]})[0]
                           for i in range(0, len(faces), batch)])  # fmt: skip


def _probabilities(model_path: Path, faces: np.ndarray) -> np.ndarray:
    if not model_path.is_file():
        raise TrainingError(f"model file {model_path} does not exist")
    if model_path.suffix == ".onnx":
        return onnx_probabilities(model_path, as_model_input(faces))
    import keras

    from training.inference import predict_probs

    try:
        model = keras.models.load_model(str(model_path), compile=False)
    except (OSError, ValueError) as exc:
        raise TrainingError(f"cannot load model {model_path}: {exc}") from None
    return predict_probs(model, faces, flip_tta=True)


def predict_files(model_path: Path, files: list[Path]) -> list[dict[str, Any]]:
    """One row per image: path, top label, its probability and all seven probabilities."""
    from tqdm import tqdm

    faces = np.stack(
        [
            decode_face(f.read_bytes(), str(f), CROP_SIZE)
            for f in tqdm(files, desc="reading", leave=False)
        ]
    )
    probs = _probabilities(model_path, faces)
    rows = []
    for path, p in zip(files, probs, strict=True):
        top = int(p.argmax())
        rows.append(
            {
                "path": str(path),
                "emotion": EMOTIONS[top],
                "confidence": float(p[top]),
                "scores": {name: float(v) for name, v in zip(EMOTIONS, p, strict=True)},
            }
        )
    return rows


def format_predictions(rows: list[dict[str, Any]], as_json: bool) -> str:
    """JSON lines or a table with one column per emotion."""
    if as_json:
        return json.dumps(rows, indent=2)
    header = f"{'image':<40}{'emotion':>10}" + "".join(f"{e[:8]:>9}" for e in EMOTIONS)
    lines = [header]
    for row in rows:
        name = row["path"][-39:]
        lines.append(
            f"{name:<40}{row['emotion']:>10}"
            + "".join(f"{row['scores'][e]:>9.3f}" for e in EMOTIONS)
        )
    return "\n".join(lines)
