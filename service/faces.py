"""Face detection behind one small interface, and the crops the classifier takes."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

Point = tuple[float, float]


@dataclass(frozen=True)
class Detection:
    """A face box in original image pixels, the detector's confidence in [0, 1] and, where the
    detector gives them, the eye centres (leftmost in the image first)."""

    x: int
    y: int
    w: int
    h: int
    score: float
    eyes: tuple[Point, Point] | None = None

    @property
    def roll_degrees(self) -> float:
        """In-plane rotation of the face from its eyes (0 when level or unknown)."""
        if self.eyes is None:
            return 0.0
        (lx, ly), (rx, ry) = self.eyes
        return math.degrees(math.atan2(ry - ly, rx - lx))


@dataclass(frozen=True)
class VisibleBox:
    """The part of a face box that lies inside the image, in image pixels:
    ``0 <= x``, ``0 <= y``, ``x + w <= width``, ``y + h <= height``. ``truncated`` is true when
    the detector's box reached past an image edge and was cut to this visible part."""

    x: int
    y: int
    w: int
    h: int
    truncated: bool


def visible_box(detection: Detection, width: int, height: int) -> VisibleBox:
    """``detection``'s box clipped to a ``width`` x ``height`` image (the one clipping rule).

    The classifier's crop keeps the unclipped box (with replicated edges), so clipping changes
    what the caller is told, not the emotion.
    """
    x0, y0 = min(max(detection.x, 0), width), min(max(detection.y, 0), height)
    x1 = min(max(detection.x + detection.w, 0), width)
    y1 = min(max(detection.y + detection.h, 0), height)
    truncated = (x0, y0, x1, y1) != (
        detection.x,
        detection.y,
        detection.x + detection.w,
        detection.y + detection.h,
    )
    return VisibleBox(x0, y0, x1 - x0, y1 - y0, truncated)


@dataclass(frozen=True)
class Framing:
    """How a detector's box relates to a FER-2013 crop: box side / crop side, and the crop
    centre's downward offset from the box centre as a share of the box height."""

    box_share: float
    center_shift: float = 0.0

    @classmethod
    def from_margin(cls, margin: float) -> Framing:
        """The framing of a crop that grows the box by ``margin`` of its side on every side."""
        return cls(box_share=1.0 / (1.0 + 2.0 * margin))


class FaceDetector(Protocol):
    """Anything that finds faces in a grayscale image."""

    name: str
    framing: Framing

    def detect(self, gray: np.ndarray, min_face_size: int, max_faces: int) -> list[Detection]:
        """Faces at least ``min_face_size`` pixels wide, largest first, at most ``max_faces``."""
        ...


STRIDE_MULTIPLE = 32  # the DNN detectors' coarsest stride: input sides must divide by it


def scale_to_side(gray: np.ndarray, input_side: int) -> tuple[np.ndarray, float, tuple[int, int]]:
    """A DNN detector's view of a frame: the frame scaled so its long side is ``input_side``
    (INTER_AREA when shrinking), the scale from frame to input pixels, and the input's
    (height, width): the scaled frame's padded up to multiples of STRIDE_MULTIPLE. The frame
    goes at the input's top left; the padding is the caller's fill value."""
    height, width = gray.shape
    scale = input_side / max(height, width)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    small = cv2.resize(gray, (new_w, new_h), interpolation=interpolation)
    padded = (-(-new_h // STRIDE_MULTIPLE) * STRIDE_MULTIPLE,
              -(-new_w // STRIDE_MULTIPLE) * STRIDE_MULTIPLE)  # fmt: skip
    return small, scale, padded


def largest_first(found: list[Detection], max_faces: int) -> list[Detection]:
    """The ``max_faces`` largest detections by box area: the order every detector returns."""
    return sorted(found, key=lambda d: d.w * d.h, reverse=True)[:max_faces]


def keypoint_detections(
    candidates: Iterable[tuple[np.ndarray, np.ndarray, float]], min_face_size: int, max_faces: int
) -> list[Detection]:
    """Detections from a keypoint detector's faces after NMS: (box (4,) as x0, y0, x1, y1,
    eye points (2, 2), score), in frame pixels. Boxes narrower than ``min_face_size`` or empty
    are dropped; eyes are ordered leftmost first; largest first, at most ``max_faces``."""
    found = []
    for box, eyes, score in candidates:
        x0, y0, x1, y1 = (float(v) for v in box)
        if x1 - x0 < min_face_size or y1 <= y0:
            continue
        left, right = sorted((float(p[0]), float(p[1])) for p in eyes)
        found.append(
            Detection(x=round(x0), y=round(y0), w=round(x1 - x0), h=round(y1 - y0),
                      score=round(float(score), 3), eyes=(left, right))
        )  # fmt: skip
    return largest_first(found, max_faces)


class HaarDetector:
    """OpenCV's frontal-face Haar cascade, run on a frame downscaled to ``max_side``.

    ``crop_margin`` is the classifier's own (its metadata ``crop.margin``): the classifier was
    trained on FER crops measured against this detector's boxes.
    """

    name = "haar_frontalface_default"

    def __init__(
        self,
        max_side: int = 640,
        scale_factor: float = 1.1,
        min_neighbors: int = 5,
        crop_margin: float = 0.0,
    ) -> None:
        path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"  # type: ignore[attr-defined]
        self._cascade = cv2.CascadeClassifier(path)
        if self._cascade.empty():
            raise RuntimeError(f"cannot load the Haar cascade {path}")
        self.framing = Framing.from_margin(crop_margin)
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
        return largest_first(found, max_faces)


def crop_faces(
    gray: np.ndarray, detections: list[Detection], size: int, framing: Framing, align: bool
) -> np.ndarray:
    """(N, size, size, 1) float32 crops framed like FER-2013 faces; edges replicated.

    With ``align``, faces whose detector gave eye positions are rotated so the eyes are level.
    """
    crops = np.empty((len(detections), size, size, 1), np.float32)
    for i, d in enumerate(detections):
        side = max(d.w, d.h) / framing.box_share
        cx = d.x + d.w / 2
        cy = d.y + d.h / 2 + framing.center_shift * d.h
        angle = d.roll_degrees if align else 0.0
        if abs(angle) < 3.0:  # not worth a resampling pass
            crops[i, :, :, 0] = _upright_crop(gray, cx, cy, side, size)
        else:
            crops[i, :, :, 0] = _rotated_crop(gray, cx, cy, side, angle, size)
    return crops


def _padded_region(gray: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    """gray[y0:y1, x0:x1], with replicated edges where the window leaves the image."""
    height, width = gray.shape
    region = gray[max(0, y0) : min(height, y1), max(0, x0) : min(width, x1)]
    if region.size == 0:  # the window lies wholly outside: replicate the nearest pixel
        region = gray[min(max(y0, 0), height - 1) : min(max(y0, 0), height - 1) + 1,
                      min(max(x0, 0), width - 1) : min(max(x0, 0), width - 1) + 1]  # fmt: skip
        return cv2.resize(region, (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST)
    if (x0, y0, x1, y1) != (max(0, x0), max(0, y0), min(width, x1), min(height, y1)):
        region = cv2.copyMakeBorder(
            region,
            max(0, -y0),
            max(0, y1 - height),
            max(0, -x0),
            max(0, x1 - width),
            cv2.BORDER_REPLICATE,
        )
    return region


def _upright_crop(gray: np.ndarray, cx: float, cy: float, side: float, size: int) -> np.ndarray:
    half = side / 2
    x0, y0 = round(cx - half), round(cy - half)
    x1, y1 = max(x0 + 1, round(cx + half)), max(y0 + 1, round(cy + half))
    region = _padded_region(gray, x0, y0, x1, y1)
    return cv2.resize(region, (size, size), interpolation=cv2.INTER_AREA)


def _rotated_crop(
    gray: np.ndarray, cx: float, cy: float, side: float, angle: float, size: int
) -> np.ndarray:
    # Cut the square's bounding window first and shrink it with area averaging, so that the
    # rotation resamples at most 2x and large faces do not alias.
    reach = side * 0.75  # half-diagonal of the square (side / sqrt(2)) plus a margin
    x0, y0 = math.floor(cx - reach), math.floor(cy - reach)
    window = _padded_region(gray, x0, y0, math.ceil(cx + reach), math.ceil(cy + reach))
    shrink = min(1.0, 2.0 * size / side)
    if shrink < 1.0:
        new_size = (
            max(1, round(window.shape[1] * shrink)),
            max(1, round(window.shape[0] * shrink)),
        )
        window = cv2.resize(window, new_size, interpolation=cv2.INTER_AREA)
    local_x, local_y = (cx - x0) * shrink, (cy - y0) * shrink
    matrix = cv2.getRotationMatrix2D((local_x, local_y), angle, size / (side * shrink))
    matrix[0, 2] += size / 2 - local_x
    matrix[1, 2] += size / 2 - local_y
    return cv2.warpAffine(
        window, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
