"""What the ONNX detectors (BlazeFace, YuNet) share: their session and metadata, the levels and
tiles they look at (``service.detectors.pyramid``), one NMS over them all, and keypoint faces
turned into detections."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import onnxruntime as ort

from service.detectors.base import Detection, Framing, largest_first
from service.detectors.pyramid import STRIDE_MULTIPLE, Level, padded, plan
from service.model_files import FRAMING
from service.sessions import ModelLoadError, cpu_session, metadata_of

__all__ = ["STRIDE_MULTIPLE", "OnnxDetector", "detector_session", "framing_of"]

Candidates = tuple[np.ndarray, np.ndarray, np.ndarray]  # boxes (N, 4), points (N, K, 2), scores


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
    """A frame scaled so its long side is ``input_side`` (INTER_AREA when shrinking), the
    scale, and the input's (height, width) padded up to multiples of STRIDE_MULTIPLE."""
    height, width = gray.shape
    scale = input_side / max(height, width)
    small = _scaled(gray, scale, max(1, round(width * scale)), max(1, round(height * scale)))
    return small, scale, (padded(small.shape[0]), padded(small.shape[1]))


def _scaled(gray: np.ndarray, scale: float, width: int, height: int) -> np.ndarray:
    if (width, height) == (gray.shape[1], gray.shape[0]):
        return gray
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(gray, (width, height), interpolation=interpolation)


def keypoint_detections(
    candidates: Iterable[tuple[np.ndarray, np.ndarray, float]],
    names: Sequence[str],
    min_face_size: int,
    max_faces: int,
) -> list[Detection]:
    """Detections from a keypoint detector's faces after NMS: (box (4,) as x0, y0, x1, y1,
    keypoints (K, 2) in ``names`` order, score), in frame pixels. Boxes narrower than
    ``min_face_size`` or empty are dropped; largest first, at most ``max_faces``."""
    found = []
    for box, points, score in candidates:
        x0, y0, x1, y1 = (float(v) for v in box)
        if x1 - x0 < min_face_size or y1 <= y0:
            continue
        keypoints = tuple(
            (name, round(float(p[0]), 1), round(float(p[1]), 1))
            for name, p in zip(names, points, strict=False)
        )
        found.append(
            Detection(x=round(x0), y=round(y0), w=round(x1 - x0), h=round(y1 - y0),
                      score=round(float(score), 3), keypoints=keypoints)
        )  # fmt: skip
    return largest_first(found, max_faces)


class OnnxDetector:
    """The detection loop of a keypoint DNN detector: every level and tile of the plan, each
    tile's candidates (those centred in its core) in image pixels, one NMS over all of them.

    Subclasses give ``_tensor`` (image -> model input), ``_candidates`` (input -> candidates in
    input pixels), ``_suppress`` (their NMS), ``keypoint_names`` and ``native_face``.
    """

    name: str
    framing: Framing
    keypoint_names: tuple[str, ...]
    native_face: int  # smallest face side (input pixels) the model finds reliably
    input_side: int
    work_pixels: int
    min_score: float
    iou_threshold: float

    def _options(
        self,
        path: Path,
        meta: dict[str, Any],
        min_score: float,
        input_side: int,
        work_pixels: int,
        iou_threshold: float,
    ) -> None:
        """What every keypoint detector keeps of its settings, and its framing from ``meta``."""
        self.min_score, self.iou_threshold = min_score, iou_threshold
        self.input_side, self.work_pixels = input_side, work_pixels
        self.framing = framing_of(path, meta)

    def _tensor(self, image: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _candidates(self, tensor: np.ndarray) -> Candidates:
        raise NotImplementedError

    def _suppress(self, found: Candidates) -> list[tuple[np.ndarray, np.ndarray, float]]:
        raise NotImplementedError

    def _input(self, gray: np.ndarray) -> tuple[np.ndarray, float]:
        """The first pass's model input (the whole frame, long side ``input_side``) and the
        scale from frame to input pixels."""
        small, scale, _ = scale_to_side(gray, self.input_side)
        return self._tensor(small), scale

    def faces_in(self, image: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, float]]:
        """The faces of ``image`` seen as one model input at its own size (no levels, no
        tiles) after NMS: (box, keypoints, score) in ``image`` pixels, best first."""
        return self._suppress(self._candidates(self._tensor(image)))

    def plan(self, width: int, height: int, min_face_size: int) -> list[Level]:
        """The levels and tiles this detector runs on a ``width`` x ``height`` image."""
        return plan(width, height, self.input_side, self.native_face, min_face_size,
                    self.work_pixels)  # fmt: skip

    def detect(self, gray: np.ndarray, min_face_size: int, max_faces: int) -> list[Detection]:
        """Faces at least ``min_face_size`` pixels wide, largest first, at most ``max_faces``."""
        height, width = gray.shape
        parts: list[Candidates] = []
        for level in self.plan(width, height, min_face_size):
            image = _scaled(gray, level.scale, level.width, level.height)
            # Level pixels -> image pixels, per axis (rounding makes the two differ slightly).
            to_image = np.array([width / level.width, height / level.height], np.float32)
            for tile in level.tiles:
                x0, y0, x1, y1 = tile
                boxes, points, scores = self._candidates(self._tensor(image[y0:y1, x0:x1]))
                if len(level.tiles) > 1:
                    cx0, cy0, cx1, cy1 = level.core(tile)
                    cx = (boxes[:, 0] + boxes[:, 2]) / 2 + x0
                    cy = (boxes[:, 1] + boxes[:, 3]) / 2 + y0
                    own = (cx >= cx0) & (cx < cx1) & (cy >= cy0) & (cy < cy1)
                    boxes, points, scores = boxes[own], points[own], scores[own]
                offset = np.array([x0, y0], np.float32)
                boxes = ((boxes.reshape(-1, 2, 2) + offset) * to_image).reshape(-1, 4)
                parts.append((boxes, (points + offset) * to_image, scores))
        found = (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                 np.concatenate([p[2] for p in parts]))  # fmt: skip
        if len(found[2]) == 0:
            return []
        faces = self._suppress(found)
        return keypoint_detections(faces, self.keypoint_names, min_face_size, max_faces)
