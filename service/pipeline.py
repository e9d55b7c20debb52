"""Encoded images -> emotions: ``analyze_bytes`` finds and classifies every face of an image,
``classify_crops`` classifies images that are each one face already."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from service.classifier import EmotionModel
from service.crops import VisibleBox, crop_faces, crop_framing, visible_box, whole_crop
from service.detectors import Detection, FaceDetector
from service.errors import DetectionFailed, ServiceError
from service.imaging import decode_gray
from service.tracking import FaceTracker

logger = logging.getLogger("service")


@dataclass(frozen=True)
class FaceEmotion:
    """One face: its detector box, that box clipped to the image, its emotion probabilities in
    model label order and, in a stream, its track id and smoothed probabilities."""

    detection: Detection
    box: VisibleBox
    probabilities: np.ndarray
    track_id: int | None = None
    smoothed: np.ndarray | None = None


@dataclass(frozen=True)
class Analysis:
    """Every face of one image, the image size, the milliseconds each stage took and whether
    the full-frame detector ran (streams follow known faces between detections)."""

    faces: list[FaceEmotion]
    width: int
    height: int
    timings_ms: dict[str, float]
    detector_ran: bool = True


@dataclass(frozen=True)
class Limits:
    """Per-call limits: upload size, pixel count, faces wanted and smallest face."""

    max_bytes: int
    max_pixels: int
    max_faces: int
    min_face_size: int


def _locate(
    gray: np.ndarray,
    detector: FaceDetector,
    limits: Limits,
    tracker: FaceTracker | None,
    t_ms: float,
) -> list[tuple[int | None, Detection]]:
    try:
        if tracker is None:
            return [
                (None, d) for d in detector.detect(gray, limits.min_face_size, limits.max_faces)
            ]
        return list(tracker.locate(gray, t_ms, detector, limits.min_face_size, limits.max_faces))
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
    tracker: FaceTracker | None = None,
    t_ms: float = 0.0,
) -> Analysis:
    """Decode, find faces, crop (eyes levelled with ``align``) and classify them all in one
    onnxruntime batch. Boxes are clipped to the image; crops use the detector's whole box.

    With a stream's ``tracker``, faces carry track ids and smoothed probabilities, and the
    tracker decides whether the detector runs on this frame (``t_ms``: frame time in ms).
    Raises the ``service.errors`` kinds for images that cannot be decoded or searched.
    """
    t0 = time.perf_counter()
    gray = decode_gray(data, limits.max_bytes, limits.max_pixels)
    t1 = time.perf_counter()
    height, width = gray.shape
    found = [
        (track_id, d, box)
        for track_id, d in _locate(gray, detector, limits, tracker, t_ms)
        if (box := visible_box(d, width, height)).w > 0 and box.h > 0
    ]
    t2 = time.perf_counter()
    framing = crop_framing(detector.framing, model.crop)
    crops = crop_faces(gray, [d for _, d, _ in found], model.crop.size, framing, align)
    probs = model.classify(crops)
    t3 = time.perf_counter()
    faces = []
    for (track_id, d, box), p in zip(found, probs, strict=True):
        smoothed = None
        if tracker is not None and track_id is not None:
            smoothed = tracker.smooth(track_id, p, t_ms)
        faces.append(FaceEmotion(d, box, p, track_id, smoothed))
    return Analysis(
        faces=faces,
        width=width,
        height=height,
        timings_ms={
            "decode": round((t1 - t0) * 1000, 3),
            "detect": round((t2 - t1) * 1000, 3),
            "classify": round((t3 - t2) * 1000, 3),
            "total": round((t3 - t0) * 1000, 3),
        },
        detector_ran=tracker.detector_ran if tracker is not None else True,
    )


@dataclass(frozen=True)
class CropsAnalysis:
    """The emotion probabilities of each crop, in input order, each crop's decoded size, and
    the milliseconds each stage took."""

    probabilities: np.ndarray
    sizes: list[tuple[int, int]]
    timings_ms: dict[str, float]


def classify_crops(
    parts: list[tuple[str | None, bytes]], model: EmotionModel, limits: Limits
) -> CropsAnalysis:
    """Classify already-cropped faces, (filename, bytes) each, in one onnxruntime batch: each
    image whole, in gray, resized to the model's crop size; no detection, no alignment.

    Every part is decoded before any is classified: a part that cannot be used raises its
    ``service.errors`` kind naming its index and filename, and nothing is answered.
    """
    t0 = time.perf_counter()
    size = model.crop.size
    crops = np.empty((len(parts), size, size, 1), np.float32)
    sizes = []
    for index, (filename, data) in enumerate(parts):
        try:
            gray = decode_gray(data, limits.max_bytes, limits.max_pixels)
        except ServiceError as exc:
            raise exc.for_part(index, filename) from None
        crops[index, :, :, 0] = whole_crop(gray, size)
        sizes.append((gray.shape[1], gray.shape[0]))
    t1 = time.perf_counter()
    probs = model.classify(crops)
    t2 = time.perf_counter()
    return CropsAnalysis(
        probabilities=probs,
        sizes=sizes,
        timings_ms={
            "decode": round((t1 - t0) * 1000, 3),
            "classify": round((t2 - t1) * 1000, 3),
            "total": round((t2 - t0) * 1000, 3),
        },
    )
