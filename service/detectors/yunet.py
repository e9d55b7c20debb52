"""YuNet (libfacedetection's face detector) on onnxruntime: input scaling, decoding, NMS.

The ONNX file comes from ``python -m converters export-detector --variant yunet`` and carries
its strides and crop framing in its metadata. Per stride s the model gives, for every cell of
the (H/s, W/s) grid in row-major order, a class and an objectness probability, a box and five
keypoints:
score = sqrt(cls * obj); box centre = (cell + offset) * s; box side = exp(out) * s;
keypoint = (cell + offset) * s.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from service.detectors.onnx import Candidates, OnnxDetector, detector_session
from service.detectors.pyramid import padded
from service.model_files import NAME, STRIDES
from service.sessions import ModelLoadError

IOU_THRESHOLD = 0.3  # libfacedetection's default
OUTPUT_KINDS = ("cls", "obj", "bbox", "kps")
# libfacedetection's keypoint order, as the subject sees them.
KEYPOINTS = ("right_eye", "left_eye", "nose_tip", "mouth_right", "mouth_left")
# Smallest face side (eyebrows to chin, input pixels) found in at least 14 of 16 placements
# (``python -m bench.detector_eval --native``).
NATIVE_FACE = 36
EXP_LIMIT = 20.0  # box sides up to e^20 strides: far past any image, still finite in float32


def decode(
    outputs: Sequence[np.ndarray], strides: Sequence[int], width: int, min_score: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidates scoring at least ``min_score`` from the model's outputs (cls, obj, bbox, kps
    per stride, in that order) for an input ``width`` pixels wide: boxes (N, 4) as x0, y0, x1,
    y1, keypoints (N, 5, 2) and scores (N,), in input pixels."""
    boxes, keypoints, scores = [], [], []
    for i, stride in enumerate(strides):
        cls, obj, bbox, kps = (o[0] for o in outputs[4 * i : 4 * i + 4])
        score = np.sqrt(np.clip(cls[:, 0] * obj[:, 0], 0.0, 1.0))
        keep = np.flatnonzero(score >= min_score)
        if keep.size == 0:
            continue
        cols = width // stride
        cells = np.stack([keep % cols, keep // cols], axis=1).astype(np.float32)
        centre = (bbox[keep, 0:2] + cells) * stride
        half = np.exp(np.minimum(bbox[keep, 2:4], EXP_LIMIT)) * stride / 2
        boxes.append(np.concatenate([centre - half, centre + half], axis=1))
        points = kps[keep].reshape(len(keep), -1, 2)
        keypoints.append((points + cells[:, np.newaxis, :]) * stride)
        scores.append(score[keep])
    if not scores:
        return np.zeros((0, 4), np.float32), np.zeros((0, 5, 2), np.float32), np.zeros(0)
    return np.concatenate(boxes), np.concatenate(keypoints), np.concatenate(scores)


def suppress(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Indices kept by greedy non-maximum suppression (OpenCV's), best score first."""
    if len(scores) == 0:
        return np.zeros(0, np.int64)
    rects = [(float(x0), float(y0), float(x1 - x0), float(y1 - y0)) for x0, y0, x1, y1 in boxes]
    kept = cv2.dnn.NMSBoxes(rects, scores.astype(float).tolist(), 0.0, iou_threshold)
    return np.asarray(kept, np.int64).reshape(-1)


class YuNetDetector(OnnxDetector):
    """libfacedetection's YuNet rebuilt as ONNX; boxes and five keypoints in image pixels.

    The frame is scaled so its long side is ``input_side`` and padded with black to multiples
    of 32 (as the C++ detector pads): a 640x480 frame runs at 384x288 by default; larger
    images add finer levels in tiles (``service.detectors.pyramid``).
    """

    keypoint_names = KEYPOINTS
    native_face = NATIVE_FACE

    def __init__(
        self,
        path: Path,
        *,
        threads: int = 1,
        min_score: float,
        input_side: int,
        work_pixels: int,
        iou_threshold: float = IOU_THRESHOLD,
    ) -> None:
        self._session, meta = detector_session(path, threads)
        try:
            self._strides = [int(s) for s in meta[STRIDES]]
            self.name: str = str(meta.get(NAME, path.stem))
        except (KeyError, ValueError, TypeError) as exc:
            raise ModelLoadError(f"detector {path} lacks YuNet stride metadata ({exc})") from exc
        self._outputs = [f"{kind}_{s}" for s in self._strides for kind in OUTPUT_KINDS]
        names = {o.name for o in self._session.get_outputs()}
        if not set(self._outputs) <= names:
            raise ModelLoadError(f"detector {path} lacks YuNet's outputs {self._outputs}")
        model_input = self._session.get_inputs()[0]
        self._input_name = model_input.name
        if model_input.shape[1] != 1:
            raise ModelLoadError(f"detector {path} wants {model_input.shape[1]} input channels")
        self._options(path, meta, min_score, input_side, work_pixels, iou_threshold)

    def _tensor(self, image: np.ndarray) -> np.ndarray:
        """The model input (1, 1, H, W), pixel values 0-255, with ``image`` at its top left,
        padded with black to multiples of 32."""
        height, width = image.shape
        tensor = np.zeros((1, 1, padded(height), padded(width)), np.float32)
        tensor[0, 0, :height, :width] = image
        return tensor

    def _candidates(self, tensor: np.ndarray) -> Candidates:
        outputs = self._session.run(self._outputs, {self._input_name: tensor})
        return decode(outputs, self._strides, tensor.shape[3], self.min_score)

    def _suppress(self, found: Candidates) -> list[tuple[np.ndarray, np.ndarray, float]]:
        boxes, keypoints, scores = found
        return [(boxes[i], keypoints[i], float(scores[i]))
                for i in suppress(boxes, scores, self.iou_threshold)]  # fmt: skip
