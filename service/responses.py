"""Pipeline results -> response models (REST faces, stream faces with tracks)."""

from __future__ import annotations

import numpy as np

from service.pipeline import Analysis, CropsAnalysis, FaceEmotion
from service.schemas import Box, CropEmotion, Face, ImageSize, Keypoint, StreamFace


def _scores(labels: tuple[str, ...], probs: np.ndarray) -> dict[str, float]:
    return {label: round(float(p), 6) for label, p in zip(labels, probs, strict=True)}


def _face_fields(face: FaceEmotion, labels: tuple[str, ...], probs: np.ndarray) -> dict:
    top = int(probs.argmax())
    b, d = face.box, face.detection
    roll = d.roll_degrees
    return {
        "box": Box(x=b.x, y=b.y, w=b.w, h=b.h, truncated=b.truncated),
        "detector_score": d.score,
        "keypoints": {name: Keypoint(x=x, y=y) for name, x, y in d.keypoints} or None,
        "roll": None if roll is None else round(roll, 1),
        "emotion": labels[top],
        "confidence": round(float(probs[top]), 6),
        "scores": _scores(labels, probs),
    }


def faces_of(analysis: Analysis, labels: tuple[str, ...]) -> list[Face]:
    """REST faces: each with its box, top emotion and all scores."""
    return [Face(**_face_fields(f, labels, f.probabilities)) for f in analysis.faces]


def stream_faces_of(analysis: Analysis, labels: tuple[str, ...]) -> list[StreamFace]:
    """Stream faces: smoothed ``scores``/``emotion``, the frame's ``raw_scores``, a track id."""
    faces = []
    for f in analysis.faces:
        if f.track_id is None or f.smoothed is None:
            raise ValueError("stream faces need a tracker's ids and smoothed scores")
        faces.append(
            StreamFace(
                **_face_fields(f, labels, f.smoothed),
                track_id=f.track_id,
                raw_scores=_scores(labels, f.probabilities),
            )
        )
    return faces


def image_of(analysis: Analysis) -> ImageSize:
    """The decoded image's size."""
    return ImageSize(width=analysis.width, height=analysis.height)


def crops_of(
    analysis: CropsAnalysis, filenames: list[str | None], labels: tuple[str, ...]
) -> list[CropEmotion]:
    """Each crop's emotions, in input order."""
    crops = []
    for index, (probs, (width, height), filename) in enumerate(
        zip(analysis.probabilities, analysis.sizes, filenames, strict=True)
    ):
        top = int(probs.argmax())
        crops.append(
            CropEmotion(
                index=index,
                filename=filename,
                image=ImageSize(width=width, height=height),
                emotion=labels[top],
                confidence=round(float(probs[top]), 6),
                scores=_scores(labels, probs),
            )
        )
    return crops
