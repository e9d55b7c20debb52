"""What every face detector is: boxes (with eyes where it has them) behind one small interface."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

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
    """Anything that finds faces in a grayscale image.

    ``framing`` is how its boxes sit in a FER-2013 crop, from its model file's metadata; None
    when its boxes are the ones the classifier's own crop margin was measured against (Haar).
    """

    name: str

    @property
    def framing(self) -> Framing | None:
        """How this detector's boxes sit in a FER-2013 crop (None: the classifier's margin)."""
        ...

    def detect(self, gray: np.ndarray, min_face_size: int, max_faces: int) -> list[Detection]:
        """Faces at least ``min_face_size`` pixels wide, largest first, at most ``max_faces``."""
        ...


def largest_first(found: list[Detection], max_faces: int) -> list[Detection]:
    """The ``max_faces`` largest detections by box area: the order every detector returns."""
    return sorted(found, key=lambda d: d.w * d.h, reverse=True)[:max_faces]
