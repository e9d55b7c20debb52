"""Faces followed through one stream: track ids, smoothed emotions, the detector only when needed.

Per stream, a ``FaceTracker`` decides for every frame whether the full-frame detector runs
(the first frame, every ``detect_every_ms`` or ``detect_every_frames``, a lost track, a scene
change) or whether each known face is followed cheaply with Lucas-Kanade optical flow on points
inside its box (OpenCV ``calcOpticalFlowPyrLK``, well under a millisecond per face). After a full
detection, faces are matched to tracks by IoU with each track's box moved by its velocity
(greedy, highest IoU first, IoU >= ``MATCH_IOU``); unmatched faces start new tracks with fresh
ids, never reused within the stream. A track that is not seen is kept for ``keep_ms`` so a face
missed for a moment keeps its id; a face that comes back later gets a new id.

Emotion scores are smoothed per track with an exponential moving average whose half-life is in
milliseconds of frame time: weight of the new frame = 1 - 0.5 ** (dt / half_life), so a dropped
frame changes the weight, not the meaning. ``half_life_ms`` = 0 turns smoothing off.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from service.detectors import Detection, FaceDetector

MATCH_IOU = 0.3
MAX_PREDICT_MS = 300.0
SCENE_CHANGE = 30.0  # mean absolute difference of 32x24 thumbnails, in gray levels
THUMBNAIL = (32, 24)
MIN_POINTS = 6  # fewer optical-flow points than this and the track is lost
MAX_FB_ERROR = 1.5  # pixels: forward-backward check of each optical-flow point
LK_WINDOW, LK_LEVELS = (15, 15), 2
LK_STOP = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03)


@dataclass(frozen=True)
class TrackingOptions:
    """Per-stream settings: smoothing half-life and when the full detector runs (ms, frames);
    their defaults are the ``FER_STREAM_*`` settings (``service.engine.tracking_options``)."""

    half_life_ms: int
    detect_every_ms: int
    detect_every_frames: int
    keep_ms: int


@dataclass
class Track:
    """One face followed through the stream."""

    id: int
    detection: Detection
    seen_ms: float
    velocity: tuple[float, float] = (0.0, 0.0)  # box centre, pixels per ms
    smoothed: np.ndarray | None = None
    smoothed_ms: float = 0.0
    visible: bool = True  # seen on the latest frame


def iou(a: Detection, b: Detection) -> float:
    """Intersection over union of two boxes (0 when they do not overlap)."""
    ix = max(0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
    iy = max(0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    inter = ix * iy
    union = a.w * a.h + b.w * b.h - inter
    return inter / union if union > 0 else 0.0


def smoothing_weight(dt_ms: float, half_life_ms: float) -> float:
    """Weight of a new observation after ``dt_ms``: 1 - 0.5 ** (dt / half-life); 1 when off."""
    if half_life_ms <= 0:
        return 1.0
    return 1.0 - 0.5 ** (max(dt_ms, 0.0) / half_life_ms)


def _moved(d: Detection, dx: float, dy: float, scale: float = 1.0) -> Detection:
    """``d`` shifted by (dx, dy) and scaled about its centre."""
    old_cx, old_cy = d.x + d.w / 2, d.y + d.h / 2
    cx, cy = old_cx + dx, old_cy + dy
    w, h = d.w * scale, d.h * scale
    keypoints = tuple(
        (name, round(cx + (px - old_cx) * scale, 1), round(cy + (py - old_cy) * scale, 1))
        for name, px, py in d.keypoints
    )
    return replace(
        d, x=round(cx - w / 2), y=round(cy - h / 2), w=round(w), h=round(h), keypoints=keypoints
    )


@dataclass
class FaceTracker:
    """Tracks and detector schedule of one stream; call ``locate`` then ``smooth`` per frame.

    Not thread-safe: a stream processes one frame at a time.
    """

    options: TrackingOptions
    tracks: list[Track] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _previous: np.ndarray | None = None
    _thumbnail: np.ndarray | None = None
    _detected_ms: float | None = None
    _frames_since_detect: int = 0
    detector_ran: bool = False

    def locate(
        self, gray: np.ndarray, t_ms: float, detector: FaceDetector, min_face: int, max_faces: int
    ) -> list[tuple[int, Detection]]:
        """(track id, box) of every face on this frame, from the detector or followed."""
        thumbnail = cv2.resize(gray, THUMBNAIL, interpolation=cv2.INTER_AREA).astype(np.float32)
        followed = None
        if not self._detection_due(gray, thumbnail, t_ms):
            followed = self._follow(gray, t_ms)
        if followed is None:
            self.detector_ran = True
            self._detected_ms, self._frames_since_detect = t_ms, 0
            found = self._associate(detector.detect(gray, min_face, max_faces), t_ms)
        else:
            self.detector_ran = False
            self._frames_since_detect += 1
            found = followed
        self._previous, self._thumbnail = gray, thumbnail
        return found

    def detect_next_frame(self) -> None:
        """Run the full-frame detector on the next frame (e.g. after detection options change)."""
        self._detected_ms = None

    def smooth(self, track_id: int, raw: np.ndarray, t_ms: float) -> np.ndarray:
        """The track's smoothed probabilities after this frame's ``raw`` ones."""
        track = next(t for t in self.tracks if t.id == track_id)
        if track.smoothed is None:
            track.smoothed = raw.astype(np.float64)
        else:
            weight = smoothing_weight(t_ms - track.smoothed_ms, self.options.half_life_ms)
            track.smoothed = track.smoothed + weight * (raw - track.smoothed)
        track.smoothed_ms = t_ms
        return track.smoothed

    def _detection_due(self, gray: np.ndarray, thumbnail: np.ndarray, t_ms: float) -> bool:
        o = self.options
        if self._previous is None or self._detected_ms is None or self._thumbnail is None:
            return True
        if self._previous.shape != gray.shape:
            return True
        if t_ms - self._detected_ms >= o.detect_every_ms:
            return True
        if o.detect_every_frames and self._frames_since_detect + 1 >= o.detect_every_frames:
            return True
        return float(np.mean(np.abs(thumbnail - self._thumbnail))) > SCENE_CHANGE

    def _follow(self, gray: np.ndarray, t_ms: float) -> list[tuple[int, Detection]] | None:
        """Every visible track moved by optical flow; None when one is lost (detect instead)."""
        assert self._previous is not None
        found = []
        for track in self.tracks:
            if not track.visible:
                continue
            moved = self._flow(self._previous, gray, track.detection)
            if moved is None:
                return None
            self._update(track, moved, t_ms)
            found.append((track.id, moved))
        return found

    @staticmethod
    def _flow(previous: np.ndarray, gray: np.ndarray, d: Detection) -> Detection | None:
        """``d`` moved by the median optical flow of corner points inside it; None if lost.

        Works on a window around the box (the box plus half its side on every side), so the
        cost depends on the face, not the frame.
        """
        height, width = gray.shape
        x0, y0 = max(0, d.x), max(0, d.y)
        x1, y1 = min(width, d.x + d.w), min(height, d.y + d.h)
        if x1 - x0 < 8 or y1 - y0 < 8:
            return None
        reach = max(16, d.w // 2)
        wx0, wy0 = max(0, x0 - reach), max(0, y0 - reach)
        wx1, wy1 = min(width, x1 + reach), min(height, y1 + reach)
        before_window, after_window = previous[wy0:wy1, wx0:wx1], gray[wy0:wy1, wx0:wx1]
        mask = np.zeros_like(before_window)
        mask[y0 - wy0 : y1 - wy0, x0 - wx0 : x1 - wx0] = 255
        points = cv2.goodFeaturesToTrack(
            before_window, maxCorners=30, qualityLevel=0.01, minDistance=max(3, d.w // 10),
            mask=mask,
        )  # fmt: skip
        if points is None or len(points) < MIN_POINTS:
            return None
        ahead, status, _ = cv2.calcOpticalFlowPyrLK(
            before_window, after_window, points, None,
            winSize=LK_WINDOW, maxLevel=LK_LEVELS, criteria=LK_STOP,
        )  # type: ignore[call-overload]  # fmt: skip
        back, status_back, _ = cv2.calcOpticalFlowPyrLK(
            after_window, before_window, ahead, None,
            winSize=LK_WINDOW, maxLevel=LK_LEVELS, criteria=LK_STOP,
        )  # type: ignore[call-overload]  # fmt: skip
        error = np.linalg.norm((back - points).reshape(-1, 2), axis=1)
        good = (status.ravel() == 1) & (status_back.ravel() == 1) & (error < MAX_FB_ERROR)
        if good.sum() < MIN_POINTS:
            return None
        before, after = points.reshape(-1, 2)[good], ahead.reshape(-1, 2)[good]
        dx, dy = np.median(after - before, axis=0)
        # Scale: median ratio of each point's distance to the centroid, after vs before.
        spread_before = np.linalg.norm(before - before.mean(axis=0), axis=1)
        spread_after = np.linalg.norm(after - after.mean(axis=0), axis=1)
        usable = spread_before > 1.0
        ratios = spread_after[usable] / spread_before[usable]
        scale = float(np.median(ratios)) if usable.any() else 1.0
        return _moved(d, float(dx), float(dy), float(np.clip(scale, 0.8, 1.25)))

    def _associate(self, detections: list[Detection], t_ms: float) -> list[tuple[int, Detection]]:
        keep_ms = self.options.keep_ms
        self.tracks = [t for t in self.tracks if t_ms - t.seen_ms <= keep_ms]
        # Each track's box moved by its velocity (over at most MAX_PREDICT_MS: a face that
        # stopped must still match) and its last box; the better overlap counts.
        predicted = {
            t.id: _moved(
                t.detection, *(v * min(t_ms - t.seen_ms, MAX_PREDICT_MS) for v in t.velocity)
            )
            for t in self.tracks
        }
        pairs = sorted(
            (
                (max(iou(predicted[t.id], d), iou(t.detection, d)), ti, di)
                for ti, t in enumerate(self.tracks)
                for di, d in enumerate(detections)
            ),
            reverse=True,
        )
        track_of: dict[int, Track] = {}
        used_tracks: set[int] = set()
        for overlap, ti, di in pairs:
            if overlap < MATCH_IOU:
                break
            if ti in used_tracks or di in track_of:
                continue
            used_tracks.add(ti)
            track_of[di] = self.tracks[ti]
        was_visible = {t.id: t.visible for t in self.tracks}
        for track in self.tracks:
            track.visible = False
        found = []
        for di, d in enumerate(detections):
            match = track_of.get(di)
            track = match or Track(id=next(self._ids), detection=d, seen_ms=t_ms)
            if match is None:
                self.tracks.append(track)
            self._update(track, d, t_ms, was_visible.get(track.id, False))
            found.append((track.id, d))
        return found

    @staticmethod
    def _update(track: Track, d: Detection, t_ms: float, continuous: bool = True) -> None:
        """Move ``track`` to ``d``; its velocity learns only from consecutive sightings."""
        dt = t_ms - track.seen_ms
        if dt > 0 and continuous:
            old = track.detection
            vx = (d.x + d.w / 2 - old.x - old.w / 2) / dt
            vy = (d.y + d.h / 2 - old.y - old.h / 2) / dt
            old_vx, old_vy = track.velocity
            track.velocity = (0.5 * old_vx + 0.5 * vx, 0.5 * old_vy + 0.5 * vy)
        track.detection, track.seen_ms, track.visible = d, t_ms, True
