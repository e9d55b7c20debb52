"""What every face detector is: boxes (with keypoints where it has them) behind one small
interface."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np

Point = tuple[float, float]

# Keypoint names, as the subject sees them: "right_eye" is the subject's right eye (the one on
# the image's left when the face is upright and frontal).
RIGHT_EYE, LEFT_EYE, NOSE, MOUTH = "right_eye", "left_eye", "nose_tip", "mouth"
MOUTH_POINTS = (MOUTH, "mouth_right", "mouth_left")


@dataclass(frozen=True)
class Detection:
    """A face box in original image pixels, the detector's confidence in [0, 1] and, where the
    detector gives them, its named keypoints (eyes, nose tip, mouth, ears) in image pixels."""

    x: int
    y: int
    w: int
    h: int
    score: float
    keypoints: tuple[tuple[str, float, float], ...] = ()

    def point(self, name: str) -> Point | None:
        """The keypoint called ``name``, or None when the detector did not give it."""
        for key, px, py in self.keypoints:
            if key == name:
                return px, py
        return None

    @property
    def eyes(self) -> tuple[Point, Point] | None:
        """The subject's right and left eye centres, or None."""
        right, left = self.point(RIGHT_EYE), self.point(LEFT_EYE)
        return None if right is None or left is None else (right, left)

    @property
    def roll_degrees(self) -> float | None:
        """How far the face is turned clockwise in the picture, in (-180, 180]; None without
        eyes. The eyes give the angle; the mouth (else the nose) says which way is down, so a
        face upside down reads 180, not 0."""
        eyes = self.eyes
        if eyes is None:
            return None
        (rx, ry), (lx, ly) = eyes
        angle = math.degrees(math.atan2(ly - ry, lx - rx))
        below = next((p for n in (*MOUTH_POINTS, NOSE) if (p := self.point(n))), None)
        if below is not None:
            mx, my = (rx + lx) / 2, (ry + ly) / 2
            # Upright, the mouth lies 90 degrees clockwise of the eye line (image y points down).
            down = math.degrees(math.atan2(below[1] - my, below[0] - mx)) - 90.0
            if abs((down - angle + 180.0) % 360.0 - 180.0) > 90.0:
                angle += 180.0
        angle = (angle + 180.0) % 360.0 - 180.0
        return 180.0 if angle == -180.0 else angle


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
