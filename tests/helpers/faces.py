"""Frames with real faces where a test wants them: the astronaut's face pasted into a frame."""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from devtools.photos import sample_photo

# The astronaut's face in scikit-image's 512x512 photo (eyebrows to chin), checked by eye.
FACE_CENTRE, FACE_SIDE = (226.0, 126.0), 104.0


@lru_cache(maxsize=1)
def _astronaut() -> np.ndarray:
    return sample_photo("astronaut")


def paste_face(frame: np.ndarray, fx: int, fy: int, side: int, degrees: float = 0.0) -> None:
    """Paste the astronaut's head into BGR ``frame`` (in place) so that her face box is
    (fx, fy, side, side); parts outside the frame are cut off; ``degrees`` turns the head."""
    scale = side / FACE_SIDE
    head = cv2.resize(_astronaut(), None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    cx, cy = FACE_CENTRE[0] * scale, FACE_CENTRE[1] * scale
    if degrees:
        matrix = cv2.getRotationMatrix2D((cx, cy), degrees, 1.0)
        head = cv2.warpAffine(head, matrix, head.shape[1::-1], borderMode=cv2.BORDER_REPLICATE)
    # Only the head and shoulders: a square of 1.6 face sides around the face.
    half = round(0.8 * side)
    top, left = max(0, round(cy) - half), max(0, round(cx) - half)
    head = head[top : round(cy) + half, left : round(cx) + half]
    ox, oy = round(fx - (cx - left - side / 2)), round(fy - (cy - top - side / 2))
    height, width = frame.shape[:2]
    x0, y0 = max(0, ox), max(0, oy)
    x1, y1 = min(width, ox + head.shape[1]), min(height, oy + head.shape[0])
    if x1 > x0 and y1 > y0:
        frame[y0:y1, x0:x1] = head[y0 - oy : y1 - oy, x0 - ox : x1 - ox]


def scene(faces: list[tuple[int, int, int]], size: tuple[int, int] = (640, 480)) -> np.ndarray:
    """A plain ``size`` frame (width, height) with a face box (x, y, side) for each entry."""
    frame = np.full((size[1], size[0], 3), 110, np.uint8)
    for fx, fy, side in faces:
        paste_face(frame, fx, fy, side)
    return frame
