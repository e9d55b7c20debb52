"""Streams that move: tracking and scheduled detection against detecting on every frame.

    python -m bench.stream_tracking            # prints the table (about a minute)

Builds 640x480, 30 fps test streams from real photos (bench/scenes.py's sources): a face
panning, zooming, turning, two faces crossing, a face leaving and coming back, a new face
entering, and frames with no face; 23 s in all, fixed seed. Runs the service's pipeline
(``analyze_bytes`` with a stream tracker, JPEG frames, one thread) twice on the same frames:
the detect-every-frame baseline (``detect_every_ms=0``) and the stream defaults. Reports, per
mode: recall of faces at least half inside the frame (IoU >= 0.3 with the true box), false faces
per frame, id switches per 100 track-frames, time until a new face has a track, label flicker
(class changes per second on faces whose expression never changes, smoothed vs raw labels),
server ms per frame (median) and frames per second on one thread.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from bench.scenes import PHOTO_FACES, _mask, _patch, background_frame, backgrounds, source_photos
from service.config import BUNDLED_MODEL, Settings
from service.detectors import Detection
from service.engine import Engine, tracking_options
from service.pipeline import Analysis, FaceEmotion, Limits
from service.tracking import FaceTracker, TrackingOptions, iou

FPS = 30
FRAME_MS = 1000 / FPS
W, H = 640, 480
LIMITS = Limits(max_bytes=10_000_000, max_pixels=40_000_000, max_faces=20, min_face_size=24)
CACHE = Path("test-output/bench-cache")


@dataclass(frozen=True)
class Truth:
    """One true face on a frame: who it is (stable over the stream) and its box."""

    identity: str
    cx: float
    cy: float
    side: float
    angle: float = 0.0

    def box(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) clipped to the frame."""
        h = self.side / 2
        return (max(0, self.cx - h), max(0, self.cy - h), min(W, self.cx + h), min(H, self.cy + h))

    def inside_share(self) -> float:
        """Share of the face box inside the frame."""
        x0, y0, x1, y1 = self.box()
        return max(0.0, x1 - x0) * max(0.0, y1 - y0) / self.side**2


@dataclass
class Clip:
    """A named sequence of frames with the true faces on each."""

    name: str
    frames: list[np.ndarray] = field(default_factory=list)
    truths: list[list[Truth]] = field(default_factory=list)


def _render(
    background: np.ndarray,
    photos: dict[str, np.ndarray],
    faces: list[Truth],
    rng: np.random.Generator,
    noise: float = 2.0,
    gain: float = 1.0,
) -> np.ndarray:
    frame = background.copy()
    for t in faces:
        name = t.identity.split("#")[0]
        x0, y0, side = PHOTO_FACES[name]
        patch = _patch(photos[name], x0 + side / 2, y0 + side / 2, side, t.angle, t.side, 1.6)
        alpha = _mask(patch.shape[0], "ellipse")
        size = patch.shape[0]
        px, py = round(t.cx - size / 2), round(t.cy - size / 2)
        fx0, fy0, fx1, fy1 = max(0, px), max(0, py), min(W, px + size), min(H, py + size)
        if fx1 <= fx0 or fy1 <= fy0:
            continue
        p = patch[fy0 - py : fy1 - py, fx0 - px : fx1 - px].astype(np.float32)
        a = alpha[fy0 - py : fy1 - py, fx0 - px : fx1 - px]
        region = frame[fy0:fy1, fx0:fx1].astype(np.float32)
        frame[fy0:fy1, fx0:fx1] = (a * p + (1 - a) * region).astype(np.uint8)
    # Sensor noise and exposure: no two frames are identical.
    grain = rng.normal(0, noise, frame.shape)
    return np.clip(frame.astype(np.float32) * gain + grain, 0, 255).astype(np.uint8)


def clips(seed: int = 2026) -> list[Clip]:
    """The test streams (23 s at 30 fps, plus 2 s of webcam-like jitter per source photo)."""
    rng = np.random.default_rng(seed)
    photos = source_photos(CACHE)
    names = sorted(photos)
    a, b = names[0], names[-1]
    pool = backgrounds()

    def clip(
        name: str, seconds: float, faces_at: Callable[[float], list[Truth]], webcam: bool = False
    ) -> Clip:
        c = Clip(name)
        background = background_frame(rng, pool)
        for i in range(round(seconds * FPS)):
            truths = [t for t in faces_at(i / FPS) if t.inside_share() > 0]
            c.truths.append(truths)
            # A cheap webcam: strong grain and auto-exposure wobbling by a few percent.
            noise, gain = (6.0, float(rng.uniform(0.9, 1.1))) if webcam else (2.0, 1.0)
            c.frames.append(_render(background, photos, truths, rng, noise, gain))
        return c

    def jitter() -> float:
        return float(rng.normal(0, 1.5))

    def held_still(name: str) -> Callable[[float], list[Truth]]:
        """A face in front of a webcam: still, but never exactly (1.5 px, 1.5 deg jitter)."""
        return lambda s: [Truth(name, 320 + jitter(), 240 + jitter(), 140 + jitter(), jitter())]

    return [
        clip("pan", 4, lambda s: [Truth(a, 120 + 100 * s, 240, 120)]),
        clip("zoom", 3, lambda s: [Truth(a, 320, 240, 80 + 40 * s)]),
        clip("turn", 3, lambda s: [Truth(a, 320, 240, 130, 15 * math.sin(2 * math.pi * s / 1.5))]),
        clip(
            "cross",
            4,
            lambda s: [Truth(a, 100 + 110 * s, 200, 110), Truth(f"{b}#2", 540 - 110 * s, 290, 110)],
        ),
        clip(
            "leave-return",
            4,
            lambda s: (
                [Truth(a, 400 + 300 * s if s < 1 else 700 - 300 * (s - 2.5), 240, 120)]
                if s < 1 or s >= 2.5
                else []
            ),
        ),
        clip(
            "enter",
            3,
            lambda s: (
                [Truth(a, 200, 240, 120)] + ([Truth(f"{b}#2", 460, 240, 120)] if s >= 1 else [])
            ),
        ),
        *(clip(f"webcam-{n}", 2, held_still(n), webcam=True) for n in names),
        clip("empty", 2, lambda s: []),
    ]


def _overlap(truth: Truth, face: FaceEmotion) -> float:
    """IoU of the true box and the box the service reports, both clipped to the frame."""
    x0, y0, x1, y1 = truth.box()
    true_box = Detection(round(x0), round(y0), round(x1 - x0), round(y1 - y0), 1.0)
    b = face.box
    return iou(true_box, Detection(b.x, b.y, b.w, b.h, face.detection.score))


@dataclass
class Score:
    """Counts over one mode's run."""

    wanted: int = 0
    found: int = 0
    false: int = 0
    frames: int = 0
    track_frames: int = 0
    switches: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    raw_changes: int = 0
    smooth_changes: int = 0
    label_seconds: float = 0.0
    ms: list[float] = field(default_factory=list)


def evaluate(clip_list: list[Clip], options: TrackingOptions, engine: Engine) -> Score:
    """Run the pipeline over every clip with a fresh tracker each; count what happened."""
    score = Score()
    for c in clip_list:
        tracker = FaceTracker(options)
        last_id: dict[str, int] = {}
        last_raw: dict[str, int] = {}
        last_smooth: dict[str, int] = {}
        appeared: dict[str, int] = {}  # frame where each present face came into view
        tracked: set[str] = set()
        for i, (frame, truths) in enumerate(zip(c.frames, c.truths, strict=True)):
            ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 85])
            started = time.perf_counter()
            analysis: Analysis = engine.analyze(jpeg.tobytes(), LIMITS, tracker, i * FRAME_MS)
            score.ms.append((time.perf_counter() - started) * 1000)
            score.frames += 1
            unmatched = list(analysis.faces)
            for truth in sorted(truths, key=lambda t: -t.side):
                if truth.inside_share() < 0.5:
                    continue
                score.wanted += 1
                appeared.setdefault(truth.identity, i)
                best = max(unmatched, key=lambda f: _overlap(truth, f), default=None)
                if best is None or _overlap(truth, best) < 0.3:
                    continue
                unmatched.remove(best)
                score.found += 1
                score.track_frames += 1
                who = truth.identity
                if who not in tracked:
                    tracked.add(who)
                    score.latencies_ms.append((i - appeared[who]) * FRAME_MS)
                if who in last_id and last_id[who] != best.track_id:
                    score.switches += 1
                last_id[who] = best.track_id or 0
                raw = int(best.probabilities.argmax())
                smoothed = best.smoothed if best.smoothed is not None else best.probabilities
                smooth = int(smoothed.argmax())
                score.raw_changes += who in last_raw and last_raw[who] != raw
                score.smooth_changes += who in last_smooth and last_smooth[who] != smooth
                last_raw[who], last_smooth[who] = raw, smooth
                score.label_seconds += 1 / FPS
            # A face that left the frame starts over when it comes back.
            present = {t.identity for t in truths if t.inside_share() >= 0.5}
            for gone in set(appeared) - present:
                appeared.pop(gone)
                tracked.discard(gone)
                last_raw.pop(gone, None)
                last_smooth.pop(gone, None)
            score.false += len(unmatched)
    return score


def _rows(name: str, s: Score) -> str:
    recall = s.found / max(1, s.wanted)
    latency = max(s.latencies_ms) if s.latencies_ms else float("nan")
    median_ms = statistics.median(s.ms)
    return (
        f"| {name} | {recall:.1%} | {s.false / s.frames:.3f} | "
        f"{100 * s.switches / max(1, s.track_frames):.2f} | {latency:.0f} | "
        f"{s.raw_changes / s.label_seconds:.2f} | {s.smooth_changes / s.label_seconds:.2f} | "
        f"{median_ms:.1f} | {1000 / statistics.mean(s.ms):.0f} |"
    )


def main() -> None:
    """Build the clips, run both modes, print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    clip_list = clips(args.seed)
    seconds = sum(len(c.frames) for c in clip_list) / FPS
    print(f"{len(clip_list)} clips, {seconds:.0f} s at {FPS} fps, 640x480 JPEG q85")
    settings = Settings(detector="blazeface", model_path=BUNDLED_MODEL, align_faces=True)
    engine = Engine.from_settings(settings)
    modes = [
        (
            "detect every frame (baseline)",
            replace(tracking_options(settings), detect_every_ms=0, detect_every_frames=0),
        ),
        ("tracking, defaults", tracking_options(settings)),
    ]
    print(
        "| mode | recall | false faces / frame | id switches / 100 track-frames "
        "| new face tracked after (max ms) | raw label changes / s | smoothed label changes / s "
        "| ms / frame (median) | frames / s, 1 thread |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, options in modes:
        print(_rows(name, evaluate(clip_list, options, engine)))


if __name__ == "__main__":
    main()
