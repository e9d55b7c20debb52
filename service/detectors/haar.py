"""OpenCV's frontal-face Haar cascade: no model file, no eyes, boxes the FER crops were cut from."""

from __future__ import annotations

import cv2
import numpy as np

from service.detectors.base import Detection, Framing, largest_first


class HaarDetector:
    """OpenCV's frontal-face Haar cascade, run on a frame downscaled to ``max_side``.

    ``framing`` is None: the classifier's crop margin (its metadata ``crop.margin``) was measured
    against this detector's boxes, so the crop uses that margin as it is.
    """

    name = "haar_frontalface_default"
    framing: Framing | None = None

    def __init__(self, max_side: int, scale_factor: float, min_neighbors: int) -> None:
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
        return largest_first(found, max_faces)
