"""BlazeFace (MediaPipe's face detector) on onnxruntime: input scaling, SSD anchors, NMS.

The ONNX file comes from ``python -m converters export-detector`` and carries its anchor layout
and crop framing in its metadata, so this module needs no TensorFlow and no MediaPipe.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from service.detectors.onnx import Candidates, OnnxDetector, detector_session
from service.detectors.pyramid import padded
from service.model_files import ANCHORS, NAME
from service.sessions import ModelLoadError

# MediaPipe clips raw scores at +-100; 80 keeps exp() inside float32.
RAW_SCORE_LIMIT = 80.0
IOU_THRESHOLD = 0.3  # MediaPipe's face detection graph's
# MediaPipe's keypoint order, as the subject sees them.
KEYPOINTS = ("right_eye", "left_eye", "nose_tip", "mouth", "right_ear", "left_ear")
# Smallest face side (eyebrows to chin, input pixels) found in at least 14 of 16 placements
# (``python -m bench.detector_eval --native``).
NATIVE_FACE = 28


def ssd_anchors(height: int, width: int, grids: list[dict[str, int]], offset: float) -> np.ndarray:
    """(N, 2) anchor centres in input pixels, in the order the model's outputs use."""
    centres = []
    for grid in grids:
        stride = grid["stride"]
        ys, xs = np.mgrid[0 : height // stride, 0 : width // stride]
        xy = np.stack([(xs + offset) * stride, (ys + offset) * stride], axis=-1).reshape(-1, 2)
        centres.append(np.repeat(xy, grid["per_cell"], axis=0))
    return np.concatenate(centres).astype(np.float32)


def weighted_nms(
    boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, iou_threshold: float
) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """MediaPipe's weighted non-maximum suppression: overlapping boxes are averaged by score.

    ``boxes`` (N, 4) as x0, y0, x1, y1; ``keypoints`` (N, K, 2). Returns (box, keypoints, score)
    per face, best first.
    """
    order = np.argsort(-scores)
    boxes, keypoints, scores = boxes[order], keypoints[order], scores[order]
    areas = np.maximum(boxes[:, 2] - boxes[:, 0], 0) * np.maximum(boxes[:, 3] - boxes[:, 1], 0)
    remaining = np.ones(len(scores), bool)
    faces = []
    for i in range(len(scores)):
        if not remaining[i]:
            continue
        ix0 = np.maximum(boxes[i, 0], boxes[:, 0])
        iy0 = np.maximum(boxes[i, 1], boxes[:, 1])
        ix1 = np.minimum(boxes[i, 2], boxes[:, 2])
        iy1 = np.minimum(boxes[i, 3], boxes[:, 3])
        inter = np.maximum(ix1 - ix0, 0) * np.maximum(iy1 - iy0, 0)
        iou = inter / np.maximum(areas[i] + areas - inter, 1e-9)
        cluster = remaining & (iou > iou_threshold)
        cluster[i] = True
        weights = scores[cluster] / scores[cluster].sum()
        box = (boxes[cluster] * weights[:, None]).sum(axis=0)
        points = (keypoints[cluster] * weights[:, None, None]).sum(axis=0)
        faces.append((box, points, float(scores[i])))
        remaining &= ~cluster
    return faces


class BlazeFaceDetector(OnnxDetector):
    """MediaPipe BlazeFace exported to ONNX; boxes and six keypoints in image pixels.

    The frame is scaled so its long side is ``input_side`` and padded to multiples of 32, not
    to the training square: a 640x480 frame runs at 384x288 by default, where 40 px faces
    are still found; larger images add finer levels in tiles (``service.detectors.pyramid``,
    at most ``work_pixels`` of input per image).
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
            anchors = meta[ANCHORS]
            self.name: str = str(meta.get(NAME, path.stem))
            self._grids: list[dict[str, int]] = anchors["grids"]
            self._offset = float(anchors["anchor_offset"])
        except (KeyError, ValueError, TypeError) as exc:
            raise ModelLoadError(
                f"detector {path} lacks BlazeFace anchor metadata ({exc})"
            ) from exc
        outputs = {o.shape[-1]: o.name for o in self._session.get_outputs()}
        if 1 not in outputs or len(outputs) != 2:
            raise ModelLoadError(f"detector {path} does not have BlazeFace's two outputs")
        self._score_output = outputs.pop(1)
        self._box_output = next(iter(outputs.values()))
        model_input = self._session.get_inputs()[0]
        self._input_name = model_input.name
        self._channels = model_input.shape[3]  # 1 when folded to gray; 3: gray is copied
        if self._channels not in (1, 3):
            raise ModelLoadError(f"detector {path} wants {self._channels} input channels")
        self._anchor_cache: dict[tuple[int, int], np.ndarray] = {}
        self._options(path, meta, min_score, input_side, work_pixels, iou_threshold)

    def _anchors(self, height: int, width: int) -> np.ndarray:
        key = (height, width)
        if key not in self._anchor_cache:  # at most input_side / 32 shapes per orientation
            self._anchor_cache[key] = ssd_anchors(height, width, self._grids, self._offset)
        return self._anchor_cache[key]

    def _tensor(self, image: np.ndarray) -> np.ndarray:
        """The model input (1, H, W, C) in [-1, 1] with ``image`` at its top left, padded
        with -1 to multiples of 32."""
        height, width = image.shape
        tensor = np.full((1, padded(height), padded(width), self._channels), -1.0, np.float32)
        tensor[0, :height, :width, :] = image[:, :, np.newaxis] * np.float32(1 / 127.5) - 1.0
        return tensor

    def _candidates(self, tensor: np.ndarray) -> Candidates:
        """Boxes, keypoints and scores of every anchor scoring at least ``min_score``, in
        input pixels (offsets are relative to each anchor centre)."""
        raw_boxes, raw_scores = self._session.run(
            [self._box_output, self._score_output], {self._input_name: tensor}
        )
        logits = np.clip(raw_scores[0, :, 0], -RAW_SCORE_LIMIT, RAW_SCORE_LIMIT)
        scores = 1.0 / (1.0 + np.exp(-logits))
        keep = np.flatnonzero(scores >= self.min_score)
        raw = raw_boxes[0, keep]
        anchors = self._anchors(tensor.shape[1], tensor.shape[2])[keep]
        centre = raw[:, 0:2] + anchors
        half = raw[:, 2:4] / 2
        boxes = np.concatenate([centre - half, centre + half], axis=1)
        keypoints = (
            raw[:, 4:].reshape(len(keep), (raw.shape[1] - 4) // 2, 2) + anchors[:, np.newaxis, :]
        )
        return boxes, keypoints, scores[keep]

    def _suppress(self, found: Candidates) -> list[tuple[np.ndarray, np.ndarray, float]]:
        return weighted_nms(*found, self.iou_threshold)
