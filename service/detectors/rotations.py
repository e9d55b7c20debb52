"""Faces turned in the picture that a detector cannot see, or sees without knowing which way
is up: the rules that find them and lay their keypoints out the right way round.

- **Rotation search**: when nothing is found upright, the image is searched turned by 90, 180
  and 270 degrees. At most three more detections of the same image (exact quarter turns, no
  resampling), only on images where the upright search found no face.
- **Orientation check**: a detector can find a face that is upside down (BlazeFace: turned
  120-240 degrees) but lay its keypoints out as if it were upright, so its roll reads 180
  degrees off and its crop is not levelled. Each face found upright scoring under
  SURE_UPRIGHT is seen again as a PATCH x PATCH patch, as it is and turned 180 degrees side by
  side in one model input (PATCH x 2 PATCH); when the turned side scores higher, the face's
  box and keypoints are the turned side's, turned back. Cost: one input of 96x192 (about
  0.9 ms BlazeFace, a seventh of a 640x480 frame's first pass) per face checked, at most
  ``max_faces`` per image; faces the detector is sure of pay nothing.

Boxes and keypoints come back in the original image's pixels, so the crop is levelled from the
keypoints like any other face. ``FER_ROTATION_SEARCH=false`` turns both off.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from service.detectors.base import Detection, Framing, largest_first
from service.detectors.onnx import OnnxDetector

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
PATCH = 96  # px: the orientation check's patch side (the face is PATCH / PATCH_FACES px there)
PATCH_FACES = 2.0  # the patch side in face sides
# Faces scoring at least this are taken as found the right way up (see the orientation check).
SURE_UPRIGHT = 0.9


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


def face_patch(gray: np.ndarray, cx: float, cy: float, side: float) -> np.ndarray:
    """The PATCH x PATCH patch of ``gray`` showing the square of ``side`` pixels centred on
    (cx, cy): area-averaged when shrinking, edges replicated past the image."""
    height, width = gray.shape
    x0, y0 = max(0, math.floor(cx - side / 2)), max(0, math.floor(cy - side / 2))
    x1, y1 = min(width, math.ceil(cx + side / 2)), min(height, math.ceil(cy + side / 2))
    window = gray[y0 : max(y1, y0 + 1), x0 : max(x1, x0 + 1)]
    scale = PATCH / side
    sx = sy = 1.0
    if scale < 1.0:
        shrunk = (max(1, round(window.shape[1] * scale)), max(1, round(window.shape[0] * scale)))
        sx, sy = shrunk[0] / window.shape[1], shrunk[1] / window.shape[0]
        window = cv2.resize(window, shrunk, interpolation=cv2.INTER_AREA)
    matrix = np.array([[scale / sx, 0, (x0 - cx) * scale + PATCH / 2],
                       [0, scale / sy, (y0 - cy) * scale + PATCH / 2]], np.float32)  # fmt: skip
    return cv2.warpAffine(window, matrix, (PATCH, PATCH), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)  # fmt: skip


def oriented(detector: OnnxDetector, gray: np.ndarray, d: Detection) -> Detection:
    """``d`` the right way up (the orientation check): ``d`` itself unless its patch scores
    higher turned 180 degrees than as it is; then the turned side's face, in image pixels."""
    side = PATCH_FACES * max(d.w, d.h)
    cx, cy = d.x + d.w / 2, d.y + d.h / 2
    patch = face_patch(gray, cx, cy, side)
    pair = np.concatenate([patch, patch[::-1, ::-1]], axis=1)
    best: list[tuple[np.ndarray, np.ndarray, float] | None] = [None, None]
    for box, points, score in detector.faces_in(pair):
        fx, fy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        half = int(fx >= PATCH)
        near = abs(fx - PATCH * (half + 0.5)) < PATCH / 4 and abs(fy - PATCH / 2) < PATCH / 4
        if near and best[half] is None:  # faces come best first
            best[half] = (box, points, score)
    as_is, turned = best
    if turned is None or (as_is is not None and as_is[2] >= turned[2]):
        return d
    box, points, score = turned
    to_image = side / PATCH

    def back(px: float, py: float) -> tuple[float, float]:
        # turned side -> patch (180 degrees about its centre) -> image
        return cx + (PATCH / 2 - (px - PATCH)) * to_image, cy + (PATCH / 2 - py) * to_image

    (ax, ay), (bx, by) = back(box[0], box[1]), back(box[2], box[3])
    keypoints = tuple(
        (name, *(round(v, 1) for v in back(float(p[0]), float(p[1]))))
        for name, p in zip(detector.keypoint_names, points, strict=False)
    )
    return Detection(
        x=round(min(ax, bx)), y=round(min(ay, by)), w=round(abs(bx - ax)), h=round(abs(by - ay)),
        score=round(float(score), 3), keypoints=keypoints,  # type: ignore[arg-type]
    )  # fmt: skip


class RotationSearch:
    """``inner`` with turned faces found and laid out the right way up: each face found
    upright is orientation-checked unless it scores at least SURE_UPRIGHT; when none is found
    upright, the image is searched turned by 90, 180 and 270 degrees, faces found there need a
    score of at least TURNED_MIN_SCORE, and one found in more than one turn is kept once, the
    surest."""

    def __init__(self, inner: OnnxDetector) -> None:
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
            return [d if d.score >= SURE_UPRIGHT else oriented(self.inner, gray, d) for d in found]
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
