"""Boxes, track ids and emotion labels drawn on frames, and the annotated video file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from fer_client.errors import InputError
from fer_client.results import Face

# BGR, distinct on video; a face keeps its colour while it keeps its track id.
PALETTE = (
    (80, 200, 40), (40, 160, 250), (230, 90, 60), (200, 60, 220), (40, 220, 230),
    (150, 150, 255), (255, 200, 80), (120, 120, 120),
)  # fmt: skip


def face_label(face: Face) -> str:
    """``#3 happy 0.88`` (``#3`` only when the face has a track id)."""
    prefix = f"#{face.track_id} " if face.track_id is not None else ""
    return f"{prefix}{face.emotion} {face.confidence:.2f}"


def draw_faces(image: np.ndarray, faces: Sequence[Face], note: str = "") -> np.ndarray:
    """``image`` (BGR, drawn on in place and returned) with each face's box and label, and
    ``note`` (e.g. ``dropped``) in the top-left corner."""
    for number, face in enumerate(faces):
        b = face.box
        key = face.track_id if face.track_id is not None else number
        colour = PALETTE[key % len(PALETTE)]
        cv2.rectangle(image, (b.x, b.y), (b.x + b.w - 1, b.y + b.h - 1), colour, 2)
        text = face_label(face)
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)
        top = b.y - th - base - 4 if b.y >= th + base + 4 else b.y + b.h
        left = max(0, min(b.x, image.shape[1] - tw - 6))  # keep the label inside the frame
        cv2.rectangle(image, (left, top), (left + tw + 6, top + th + base + 4), colour, -1)
        cv2.putText(
            image, text, (left + 3, top + th + 2), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1,
            cv2.LINE_AA,
        )  # fmt: skip
    if note:
        cv2.putText(
            image, note, (8, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 255), 2, cv2.LINE_AA
        )
    return image


class AnnotatedVideo:
    """An MP4 (``mp4v``) file of ``width`` x ``height`` frames at ``fps``; frames are written
    as they come, nothing is kept. Raises InputError when OpenCV cannot create the file."""

    def __init__(self, path: str | Path, fps: float, width: int, height: int) -> None:
        self.path = str(path)
        self.size = (width, height)
        fourcc = cv2.VideoWriter.fourcc(*"mp4v")
        self._writer = cv2.VideoWriter(self.path, fourcc, fps, self.size)
        if not self._writer.isOpened():
            raise InputError(f"OpenCV cannot write the video {self.path}")
        self.frames = 0

    def write(self, image: np.ndarray) -> None:
        """Append one BGR frame (resized if its size differs)."""
        if (image.shape[1], image.shape[0]) != self.size:
            image = cv2.resize(image, self.size)
        self._writer.write(image)
        self.frames += 1

    def close(self) -> None:
        """Finish the file."""
        self._writer.release()
