"""Real faces where a test or a benchmark wants them: the astronaut's head pasted into a frame,
alone or as a crowd of many faces on a real (face-free) photo."""

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
    (fx, fy, side, side); parts outside the frame are cut off; ``degrees`` turns the head
    counter-clockwise."""
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


def crowd(
    width: int, height: int, side: int, count: int, seed: int, background: str = "rocket"
) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """A ``width`` x ``height`` BGR frame of a real photo with up to ``count`` astronaut faces
    of about ``side`` px (+-10%, turned up to +-10 degrees) on a jittered grid, and their face
    boxes (x, y, side). Faces are 1.6 sides apart at the least (heads do not overlap)."""
    rng = np.random.default_rng(seed)
    photo = sample_photo(background)
    frame = cv2.resize(photo if photo.ndim == 3 else cv2.cvtColor(photo, cv2.COLOR_GRAY2BGR),
                       (width, height), interpolation=cv2.INTER_AREA)  # fmt: skip
    pitch = round(side * 1.8)
    cells = [(x, y) for y in range(0, height - pitch + 1, pitch)
             for x in range(0, width - pitch + 1, pitch)]  # fmt: skip
    chosen = rng.permutation(len(cells))[:count]
    faces = []
    for i in sorted(chosen):
        x, y = cells[i]
        s = round(side * rng.uniform(0.9, 1.1))
        fx = x + round((pitch - s) / 2 + rng.uniform(-0.1, 0.1) * s)
        fy = y + round((pitch - s) / 2 + rng.uniform(-0.1, 0.1) * s)
        paste_face(frame, fx, fy, s, float(rng.uniform(-10, 10)))
        faces.append((fx, fy, s))
    return frame, faces


def matched(
    boxes: list[tuple[int, int, int, int]], faces: list[tuple[int, int, int]]
) -> tuple[int, int]:
    """(faces found, boxes on no face): a face is found by a box whose centre lies within half
    the face's side of the face centre; each face counts once, each box matches one face."""
    found: set[int] = set()
    false = 0
    for x, y, w, h in boxes:
        cx, cy = x + w / 2, y + h / 2
        near = [
            i
            for i, (fx, fy, s) in enumerate(faces)
            if i not in found and abs(fx + s / 2 - cx) < s / 2 and abs(fy + s / 2 - cy) < s / 2
        ]
        if near:
            found.add(near[0])
        else:
            false += 1
    return len(found), false
