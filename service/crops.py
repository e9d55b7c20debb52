"""The crop contract: the classifier's crop spec, a detector's framing, and the one rule that
combines them; face crops cut by it, and face boxes clipped to the image."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from service.detectors.base import Detection, Framing


@dataclass(frozen=True)
class CropSpec:
    """What the classifier expects as input (its metadata ``crop``): square grayscale crops of
    ``size`` pixels, cut ``margin`` of the face side beyond a Haar face box on every side."""

    size: int
    channels: int
    margin: float


def crop_framing(detector_framing: Framing | None, crop: CropSpec) -> Framing:
    """How to frame a detector's boxes for the classifier: the detector's own framing (from its
    model file) where it has one, else the classifier's margin (Haar, whose boxes it was
    measured against)."""
    if detector_framing is not None:
        return detector_framing
    return Framing.from_margin(crop.margin)


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


def crop_faces(
    gray: np.ndarray, detections: list[Detection], size: int, framing: Framing, align: bool
) -> np.ndarray:
    """(N, size, size, 1) float32 crops framed like FER-2013 faces; edges replicated.

    With ``align``, faces whose detector gave keypoints are turned upright (eyes level, mouth
    below them: any roll over the full circle).
    """
    crops = np.empty((len(detections), size, size, 1), np.float32)
    for i, d in enumerate(detections):
        side = max(d.w, d.h) / framing.box_share
        cx = d.x + d.w / 2
        cy = d.y + d.h / 2 + framing.center_shift * d.h
        angle = (d.roll_degrees or 0.0) if align else 0.0
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


def whole_crop(gray: np.ndarray, size: int) -> np.ndarray:
    """An already-cropped face, all of it, as a (size, size) float32 crop: stretched to a
    square (area-averaged when shrinking, bilinear when enlarging)."""
    shrinking = gray.shape[0] > size or gray.shape[1] > size
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(gray, (size, size), interpolation=interpolation).astype(np.float32)
