"""Pipeline results -> response models."""

from __future__ import annotations

from service.pipeline import Analysis
from service.schemas import Box, Face, ImageSize


def faces_of(analysis: Analysis, labels: tuple[str, ...]) -> list[Face]:
    """Response faces, each with its top emotion and all scores."""
    faces = []
    for face in analysis.faces:
        b, probs = face.box, face.probabilities
        top = int(probs.argmax())
        faces.append(
            Face(
                box=Box(x=b.x, y=b.y, w=b.w, h=b.h, truncated=b.truncated),
                detector_score=face.detection.score,
                emotion=labels[top],
                confidence=round(float(probs[top]), 6),
                scores={label: round(float(p), 6) for label, p in zip(labels, probs, strict=True)},
            )
        )
    return faces


def image_of(analysis: Analysis) -> ImageSize:
    """The decoded image's size."""
    return ImageSize(width=analysis.width, height=analysis.height)
