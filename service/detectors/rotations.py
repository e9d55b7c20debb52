"""Faces turned in the picture that a detector cannot see: the image searched at 90, 180 and
270 degrees when nothing is found upright.

The cost is bounded: at most three more detections of the same image (exact quarter turns,
no resampling), only on images where the upright search found no face; an image with a face
pays nothing. Boxes and keypoints come back in the original image's pixels, so the crop is
levelled from the keypoints like any other face.
"""

from __future__ import annotations

import cv2
import numpy as np

from service.detectors.base import Detection, FaceDetector, Framing, largest_first

# Clockwise quarter turns tried, in order, with the OpenCV code that makes each.
TURNS = (
    (90, cv2.ROTATE_90_CLOCKWISE),
    (180, cv2.ROTATE_180),
    (270, cv2.ROTATE_90_COUNTERCLOCKWISE),
)
DUPLICATE_IOU = 0.3
# A face found only turned must be surer than an upright one: three more looks at a faceless
# image would otherwise triple its false faces. 0.8 kept every false face of 16 face-free
# photos x 3 turns out (the highest scored 0.75) while real faces turned score 0.78-0.95.
TURNED_MIN_SCORE = 0.8


def unturn(x: float, y: float, degrees: int, width: int, height: int) -> tuple[float, float]:
    """A point of the image turned ``degrees`` clockwise, in the original ``width`` x
    ``height`` image's pixels."""
    if degrees == 90:
        return y, height - x
    if degrees == 180:
        return width - x, height - y
    return width - y, x  # 270


def unturned(d: Detection, degrees: int, width: int, height: int) -> Detection:
    """Detection ``d`` found in the turned image, in the original image's pixels."""
    corners = [
        unturn(x, y, degrees, width, height) for x, y in ((d.x, d.y), (d.x + d.w, d.y + d.h))
    ]
    (ax, ay), (bx, by) = corners
    keypoints = tuple(
        (name, *(round(v, 1) for v in unturn(px, py, degrees, width, height)))
        for name, px, py in d.keypoints
    )
    return Detection(
        x=round(min(ax, bx)), y=round(min(ay, by)), w=round(abs(bx - ax)), h=round(abs(by - ay)),
        score=d.score, keypoints=keypoints,  # type: ignore[arg-type]
    )  # fmt: skip


def _overlaps(a: Detection, b: Detection) -> bool:
    ix = max(0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
    iy = max(0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    inter = ix * iy
    return inter > DUPLICATE_IOU * (a.w * a.h + b.w * b.h - inter)


class RotationSearch:
    """``inner`` with turned faces found: when it finds nothing upright, the image is searched
    turned by 90, 180 and 270 degrees; faces found there need a score of at least
    TURNED_MIN_SCORE, and one found in more than one turn is kept once, the surest."""

    def __init__(self, inner: FaceDetector) -> None:
        self.inner = inner
        self.name = inner.name

    @property
    def framing(self) -> Framing | None:
        """The inner detector's framing."""
        return self.inner.framing

    def detect(self, gray: np.ndarray, min_face_size: int, max_faces: int) -> list[Detection]:
        """Faces at least ``min_face_size`` pixels wide, largest first, at most ``max_faces``."""
        found = self.inner.detect(gray, min_face_size, max_faces)
        if found:
            return found
        height, width = gray.shape
        turned: list[Detection] = []
        for degrees, code in TURNS:
            for d in self.inner.detect(cv2.rotate(gray, code), min_face_size, max_faces):
                if d.score >= TURNED_MIN_SCORE:
                    turned.append(unturned(d, degrees, width, height))
        kept: list[Detection] = []
        for d in sorted(turned, key=lambda d: d.score, reverse=True):
            if not any(_overlaps(d, k) for k in kept):
                kept.append(d)
        return largest_first(kept, max_faces)
