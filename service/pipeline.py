"""The one function both endpoints use: grayscale image -> faces with boxes and emotions."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from service.faces import Detection, FaceDetector, crop_faces
from service.imaging import decode_gray
from service.model import EmotionModel


@dataclass(frozen=True)
class FaceEmotion:
    """One detected face and its emotion probabilities, in model label order."""

    detection: Detection
    probabilities: np.ndarray


@dataclass(frozen=True)
class Analysis:
    """Every face of one image, the image size and the milliseconds each stage took."""

    faces: list[FaceEmotion]
    width: int
    height: int
    timings_ms: dict[str, float]


@dataclass(frozen=True)
class Limits:
    """Per-call limits: upload size, pixel count, faces wanted and smallest face."""

    max_bytes: int
    max_pixels: int
    max_faces: int
    min_face_size: int


def analyze_bytes(
    data: bytes,
    detector: FaceDetector,
    model: EmotionModel,
    limits: Limits,
    align: bool = True,
) -> Analysis:
    """Decode, detect, crop (eyes levelled with ``align``) and classify all faces in one
    onnxruntime batch."""
    t0 = time.perf_counter()
    gray = decode_gray(data, limits.max_bytes, limits.max_pixels)
    t1 = time.perf_counter()
    detections = detector.detect(gray, limits.min_face_size, limits.max_faces)
    t2 = time.perf_counter()
    crops = crop_faces(gray, detections, model.crop.size, detector.framing, align)
    probs = model.classify(crops)
    t3 = time.perf_counter()
    return Analysis(
        faces=[FaceEmotion(d, p) for d, p in zip(detections, probs, strict=True)],
        width=gray.shape[1],
        height=gray.shape[0],
        timings_ms={
            "decode": round((t1 - t0) * 1000, 3),
            "detect": round((t2 - t1) * 1000, 3),
            "classify": round((t3 - t2) * 1000, 3),
            "total": round((t3 - t0) * 1000, 3),
        },
    )
