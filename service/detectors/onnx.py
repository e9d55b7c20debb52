"""What the ONNX detectors (BlazeFace, YuNet) share: their session and metadata, the frame
scaled to the input side, and keypoint faces turned into detections."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import onnxruntime as ort

from service.detectors.base import Detection, Framing, largest_first
from service.model_files import FRAMING
from service.sessions import ModelLoadError, cpu_session, metadata_of

STRIDE_MULTIPLE = 32  # the DNN detectors' coarsest stride: input sides must divide by it


def detector_session(path: Path, threads: int) -> tuple[ort.InferenceSession, dict[str, Any]]:
    """The detector file's session and decoded metadata; ModelLoadError when it cannot load."""
    session = cpu_session(path, threads, "detector")
    return session, metadata_of(session)


def framing_of(path: Path, metadata: dict[str, Any]) -> Framing:
    """The detector's crop framing from its metadata (measured on FER-2013 val faces by
    scripts/measure_crop_margin.py and written by its converter)."""
    try:
        framing = metadata[FRAMING]
        return Framing(float(framing["box_share"]), float(framing["center_shift"]))
    except (KeyError, ValueError, TypeError) as exc:
        raise ModelLoadError(f"detector {path} lacks framing metadata ({exc})") from exc


def scale_to_side(gray: np.ndarray, input_side: int) -> tuple[np.ndarray, float, tuple[int, int]]:
    """A DNN detector's view of a frame: the frame scaled so its long side is ``input_side``
    (INTER_AREA when shrinking), the scale from frame to input pixels, and the input's
    (height, width): the scaled frame's padded up to multiples of STRIDE_MULTIPLE. The frame
    goes at the input's top left; the padding is the caller's fill value."""
    height, width = gray.shape
    scale = input_side / max(height, width)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    small = cv2.resize(gray, (new_w, new_h), interpolation=interpolation)
    padded = (-(-new_h // STRIDE_MULTIPLE) * STRIDE_MULTIPLE,
              -(-new_w // STRIDE_MULTIPLE) * STRIDE_MULTIPLE)  # fmt: skip
    return small, scale, padded


def keypoint_detections(
    candidates: Iterable[tuple[np.ndarray, np.ndarray, float]], min_face_size: int, max_faces: int
) -> list[Detection]:
    """Detections from a keypoint detector's faces after NMS: (box (4,) as x0, y0, x1, y1,
    eye points (2, 2), score), in frame pixels. Boxes narrower than ``min_face_size`` or empty
    are dropped; eyes are ordered leftmost first; largest first, at most ``max_faces``."""
    found = []
    for box, eyes, score in candidates:
        x0, y0, x1, y1 = (float(v) for v in box)
        if x1 - x0 < min_face_size or y1 <= y0:
            continue
        left, right = sorted((float(p[0]), float(p[1])) for p in eyes)
        found.append(
            Detection(x=round(x0), y=round(y0), w=round(x1 - x0), h=round(y1 - y0),
                      score=round(float(score), 3), eyes=(left, right))
        )  # fmt: skip
    return largest_first(found, max_faces)
