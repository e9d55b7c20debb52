"""The one function both endpoints use: grayscale image -> faces with boxes and emotions."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from service.errors import DetectionFailed
from service.faces import Detection, FaceDetector, VisibleBox, crop_faces, visible_box
from service.imaging import decode_gray
from service.model import EmotionModel

logger = logging.getLogger("service")


@dataclass(frozen=True)
class FaceEmotion:
    """One detected face, its box clipped to the image, and its emotion probabilities in model
    label order."""

    detection: Detection
    box: VisibleBox
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


def _detect(detector: FaceDetector, gray: np.ndarray, limits: Limits) -> list[Detection]:
    try:
        return detector.detect(gray, limits.min_face_size, limits.max_faces)
    except Exception as exc:  # onnxruntime and OpenCV raise untyped errors on inputs they refuse
        logger.warning("detector %s failed on a %s image", detector.name, gray.shape, exc_info=True)
        raise DetectionFailed(
            f"face detection failed on this {gray.shape[1]}x{gray.shape[0]} image"
        ) from exc


def analyze_bytes(
    data: bytes,
    detector: FaceDetector,
    model: EmotionModel,
    limits: Limits,
    align: bool = True,
) -> Analysis:
    """Decode, detect, crop (eyes levelled with ``align``) and classify all faces in one
    onnxruntime batch. Boxes are clipped to the image; crops use the detector's whole box.

    Raises the ``service.errors`` kinds for images that cannot be decoded or searched.
    """
    t0 = time.perf_counter()
    gray = decode_gray(data, limits.max_bytes, limits.max_pixels)
    t1 = time.perf_counter()
    height, width = gray.shape
    found = [
        (d, box)
        for d in _detect(detector, gray, limits)
        if (box := visible_box(d, width, height)).w > 0 and box.h > 0
    ]
    t2 = time.perf_counter()
    detections = [d for d, _ in found]
    crops = crop_faces(gray, detections, model.crop.size, detector.framing, align)
    probs = model.classify(crops)
    t3 = time.perf_counter()
    return Analysis(
        faces=[FaceEmotion(d, box, p) for (d, box), p in zip(found, probs, strict=True)],
        width=width,
        height=height,
        timings_ms={
            "decode": round((t1 - t0) * 1000, 3),
            "detect": round((t2 - t1) * 1000, 3),
            "classify": round((t3 - t2) * 1000, 3),
            "total": round((t3 - t0) * 1000, 3),
        },
    )
