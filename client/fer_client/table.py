"""CSV rows: one per face, or one per frame or image without a face (so none goes missing).

``status`` is ``ok`` (a face), ``no_face``, ``dropped`` (the stream skipped the frame for a newer
one) or ``failed`` (``error`` says why). ``track_id`` and the ``raw_*`` scores are empty unless
the stream tracks faces. ``roll`` and the keypoint columns (``right_eye_x`` ...) are empty
where the detector gives none (Haar) or not that point.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from typing import IO, Any

from fer_client.results import CropResult, Face, FrameResult, FrameStatus, Prediction

# Every keypoint name a bundled detector gives (BlazeFace's and YuNet's), as the service names them.
KEYPOINTS = ("right_eye", "left_eye", "nose_tip", "mouth", "mouth_right", "mouth_left",
             "right_ear", "left_ear")  # fmt: skip
FACE_COLUMNS = ("face", "x", "y", "w", "h", "truncated", "detector_score", "emotion", "confidence",
                "roll", *(f"{k}_{axis}" for k in KEYPOINTS for axis in "xy"))  # fmt: skip


def frame_columns(labels: Sequence[str]) -> list[str]:
    """Columns of the video and webcam CSV for a model with these emotion ``labels``."""
    return [
        "frame", "time_s", "status", "track_id", *FACE_COLUMNS, *labels,
        *(f"raw_{label}" for label in labels), "error",
    ]  # fmt: skip


def image_columns(labels: Sequence[str]) -> list[str]:
    """Columns of the image CSV."""
    return ["path", "status", *FACE_COLUMNS, *labels, "error"]


def crop_columns(labels: Sequence[str]) -> list[str]:
    """Columns of the ``image --crops`` CSV: one row per crop."""
    return ["path", "status", "width", "height", "emotion", "confidence", *labels, "error"]


def crop_row(
    path: str, crop: CropResult | None, error: str | None, labels: Sequence[str]
) -> dict[str, Any]:
    """The row of one crop: its emotions, or ``failed`` and why."""
    if crop is None:
        return {"path": path, "status": "failed", "error": error or ""}
    return {
        "path": path, "status": "ok", "width": crop.image.width, "height": crop.image.height,
        "emotion": crop.emotion, "confidence": crop.confidence,
        **{label: crop.scores.get(label, "") for label in labels},
    }  # fmt: skip


def _face_cells(number: int, face: Face, labels: Sequence[str]) -> dict[str, Any]:
    b = face.box
    cells: dict[str, Any] = {
        "face": number, "x": b.x, "y": b.y, "w": b.w, "h": b.h, "truncated": int(b.truncated),
        "detector_score": round(face.detector_score, 4), "emotion": face.emotion,
        "confidence": face.confidence, "roll": "" if face.roll is None else face.roll,
    }  # fmt: skip
    for name, point in (face.keypoints or {}).items():
        cells.update({f"{name}_x": point.x, f"{name}_y": point.y})
    cells.update({label: face.scores.get(label, "") for label in labels})
    return cells


def frame_rows(
    frame: int, time_s: float, result: FrameResult, labels: Sequence[str]
) -> list[dict[str, Any]]:
    """The rows of one video frame: one per face, else one saying what became of the frame."""
    base = {"frame": frame, "time_s": round(time_s, 4)}
    if result.status is FrameStatus.DROPPED:
        return [{**base, "status": "dropped"}]
    if result.status is FrameStatus.FAILED:
        message = f"{result.error.code}: {result.error.message}" if result.error else ""
        return [{**base, "status": "failed", "error": message}]
    if not result.faces:
        return [{**base, "status": "no_face"}]
    rows = []
    for number, face in enumerate(result.faces):
        row = {
            **base,
            "status": "ok",
            "track_id": face.track_id,
            **_face_cells(number, face, labels),
        }
        if face.raw_scores is not None:
            row.update({f"raw_{label}": face.raw_scores.get(label, "") for label in labels})
        rows.append(row)
    return rows


def image_rows(
    path: str, prediction: Prediction | None, error: str | None, labels: Sequence[str]
) -> list[dict[str, Any]]:
    """The rows of one image: one per face, else one with ``no_face`` or ``failed``."""
    if prediction is None:
        return [{"path": path, "status": "failed", "error": error or ""}]
    if not prediction.faces:
        return [{"path": path, "status": "no_face"}]
    return [
        {"path": path, "status": "ok", **_face_cells(number, face, labels)}
        for number, face in enumerate(prediction.faces)
    ]


def csv_writer(stream: IO[str], columns: list[str]) -> csv.DictWriter[str]:
    """A DictWriter that has written the header; missing cells are empty."""
    writer = csv.DictWriter(stream, columns, restval="", extrasaction="ignore")
    writer.writeheader()
    return writer
