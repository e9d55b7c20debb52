"""Frames with real faces where a test wants them: the astronaut's face pasted into a frame."""

from __future__ import annotations

import numpy as np

from devtools.crowds import FACE_CENTRE, FACE_SIDE, paste_face

__all__ = ["FACE_CENTRE", "FACE_SIDE", "paste_face", "scene"]


def scene(faces: list[tuple[int, int, int]], size: tuple[int, int] = (640, 480)) -> np.ndarray:
    """A plain ``size`` frame (width, height) with a face box (x, y, side) for each entry."""
    frame = np.full((size[1], size[0], 3), 110, np.uint8)
    for fx, fy, side in faces:
        paste_face(frame, fx, fy, side)
    return frame
