"""Face detection behind one small interface, and the crops the classifier takes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np


@dataclass(frozen=True)
class Detection:
    """A face box in original image pixels and the detector's confidence in [0, 1]."""

    x: int
    y: int
    w: int
    h: int
    score: float


class FaceDetector(Protocol):
    """Anything that finds faces in a grayscale image."""

    name: str

    def detect(self, gray: np.ndarray, min_face_size: int, max_faces: int) -> list[Detection]:
        """Faces at least ``min_face_size`` pixels wide, largest first, at most ``max_faces``."""
        ...


class HaarDetector:
    """OpenCV's frontal-face Haar cascade, run on a frame downscaled to ``max_side``."""

    name = "haar_frontalface_default"

    def __init__(self, max_side: int = 640, scale_factor: float = 1.1, min_neighbors: int = 5):
        path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"  # type: ignore[attr-defined]
        self._cascade = cv2.CascadeClassifier(path)
        if self._cascade.empty():
            raise RuntimeError(f"cannot load the Haar cascade {path}")
        self.max_side = max_side
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors

    def detect(self, gray: np.ndarray, min_face_size: int, max_faces: int) -> list[Detection]:
        """Faces at least ``min_face_size`` pixels wide, largest first, at most ``max_faces``."""
        scale = min(1.0, self.max_side / max(gray.shape))
        small = gray
        if scale < 1.0:
            size = (round(gray.shape[1] * scale), round(gray.shape[0] * scale))
            small = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
        min_side = max(20, round(min_face_size * scale))
        boxes, neighbours = self._cascade.detectMultiScale2(
            small,
            scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors,
            minSize=(min_side, min_side),
        )
        found = [
            Detection(
                x=round(x / scale),
                y=round(y / scale),
                w=round(w / scale),
                h=round(h / scale),
                # Haar has no probability; more agreeing neighbours means a surer face.
                score=round(min(1.0, float(n) / (4 * self.min_neighbors)), 3),
            )
            for (x, y, w, h), n in zip(boxes, neighbours, strict=True)
        ]
        found.sort(key=lambda d: d.w * d.h, reverse=True)
        return found[:max_faces]


def crop_faces(
    gray: np.ndarray, detections: list[Detection], size: int, margin: float
) -> np.ndarray:
    """(N, size, size, 1) float32 crops: each box grown by ``margin`` per side, edges replicated."""
    crops = np.empty((len(detections), size, size, 1), np.float32)
    height, width = gray.shape
    for i, d in enumerate(detections):
        pad_x, pad_y = round(d.w * margin), round(d.h * margin)
        x0, y0 = d.x - pad_x, d.y - pad_y
        x1, y1 = d.x + d.w + pad_x, d.y + d.h + pad_y
        region = gray[max(0, y0) : min(height, y1), max(0, x0) : min(width, x1)]
        if (x0, y0, x1, y1) != (max(0, x0), max(0, y0), min(width, x1), min(height, y1)):
            region = cv2.copyMakeBorder(
                region,
                max(0, -y0),
                max(0, y1 - height),
                max(0, -x0),
                max(0, x1 - width),
                cv2.BORDER_REPLICATE,
            )
        crops[i, :, :, 0] = cv2.resize(region, (size, size), interpolation=cv2.INTER_AREA)
    return crops
