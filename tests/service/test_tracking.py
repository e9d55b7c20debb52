"""Faces followed through a stream: ids, smoothing on frame time, detector scheduling."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from service.config import BUNDLED_BLAZEFACE
from service.detectors import Detection
from service.detectors.blazeface import BlazeFaceDetector
from service.tracking import FaceTracker, iou, smoothing_weight
from tests.helpers.app import encode
from tests.helpers.defaults import DNN, tracking
from tests.helpers.faces import scene

FRAME_MS = 1000 / 30


class CountingDetector:
    """The bundled BlazeFace, counting its calls."""

    def __init__(self) -> None:
        self.inner = BlazeFaceDetector(BUNDLED_BLAZEFACE, **DNN)
        self.name, self.framing, self.calls = self.inner.name, self.inner.framing, 0

    def detect(self, gray: np.ndarray, min_face_size: int, max_faces: int) -> list[Detection]:
        self.calls += 1
        return self.inner.detect(gray, min_face_size, max_faces)


@pytest.fixture(scope="module")
def detector() -> CountingDetector:
    return CountingDetector()


def run(
    tracker: FaceTracker, detector: CountingDetector, frames: list[np.ndarray]
) -> list[list[tuple[int, Detection]]]:
    return [
        tracker.locate(cv2.cvtColor(f, cv2.COLOR_BGR2GRAY), i * FRAME_MS, detector, 24, 10)
        for i, f in enumerate(frames)
    ]


def test_iou_and_smoothing_weight() -> None:
    a = Detection(0, 0, 10, 10, 1.0)
    assert iou(a, a) == 1.0 and iou(a, Detection(20, 20, 5, 5, 1.0)) == 0.0
    assert iou(a, Detection(5, 0, 10, 10, 1.0)) == pytest.approx(50 / 150)
    assert smoothing_weight(300, 300) == pytest.approx(0.5)
    assert smoothing_weight(33, 0) == 1.0  # half-life 0: smoothing off


def test_a_dropped_frame_does_not_change_what_smoothing_means() -> None:
    # The same constant scores at 30 fps and at 15 fps: the same smoothed value at the same time.
    start, target = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    results = []
    for step_ms in (FRAME_MS, 2 * FRAME_MS):
        tracker = FaceTracker(tracking(half_life_ms=300))
        tracker._associate([Detection(0, 0, 50, 50, 1.0)], 0.0)
        tracker.smooth(1, start, 0.0)
        t = 0.0
        while t < 600 - 1e-6:
            t += step_ms
            smoothed = tracker.smooth(1, target, t)
        results.append(smoothed)
    np.testing.assert_allclose(results[0], results[1], atol=1e-9)
    assert results[0][1] == pytest.approx(0.75, abs=1e-6)  # two half-lives


def test_a_panning_face_keeps_one_id_and_the_detector_runs_only_when_due(
    detector: CountingDetector,
) -> None:
    frames = [scene([(60 + 8 * i, 150, 110)]) for i in range(30)]  # 1 s at 30 fps, 240 px/s
    detector.calls = 0
    found = run(FaceTracker(tracking(detect_every_ms=200)), detector, frames)
    assert all(len(f) == 1 for f in found)
    assert {f[0][0] for f in found} == {1}
    for i, ((_, d),) in enumerate(found):  # the box follows the face between detections
        assert abs(d.x + d.w / 2 - (60 + 8 * i + 55)) < 0.2 * 110, i
    assert 5 <= detector.calls <= 7  # about every 200 ms, not on all 30 frames


def test_detecting_every_frame_is_one_setting_away(detector: CountingDetector) -> None:
    frames = [scene([(100 + 4 * i, 150, 110)]) for i in range(6)]
    detector.calls = 0
    run(FaceTracker(tracking(detect_every_ms=0)), detector, frames)
    assert detector.calls == 6


def test_a_new_face_gets_a_track_within_the_refresh_interval(detector: CountingDetector) -> None:
    frames = [scene([(60, 150, 110)] + ([(400, 150, 110)] if i >= 10 else [])) for i in range(22)]
    found = run(FaceTracker(tracking(detect_every_ms=200)), detector, frames)
    first_seen = next(i for i, f in enumerate(found) if len(f) == 2)
    assert (first_seen - 10) * FRAME_MS <= 200
    assert {tid for tid, _ in found[-1]} == {1, 2}


def test_a_face_that_leaves_and_comes_back_later_gets_a_new_id(
    detector: CountingDetector,
) -> None:
    present = [scene([(200, 150, 110)])] * 6
    empty = [scene([])] * 40  # 1.3 s without the face: longer than keep_ms
    found = run(FaceTracker(tracking(keep_ms=1000)), detector, present + empty + present)
    ids = [tid for f in found for tid, _ in f]
    assert set(ids) == {1, 2} and ids[:6] == [1] * 6 and ids[-1] == 2


def test_a_face_missed_for_a_moment_keeps_its_id(detector: CountingDetector) -> None:
    present = [scene([(200, 150, 110)])] * 6
    blank = [scene([])] * 3  # 100 ms: shorter than keep_ms
    found = run(FaceTracker(tracking(keep_ms=1000)), detector, present + blank + present)
    assert {tid for f in found for tid, _ in f} == {1}


def test_two_faces_moving_apart_keep_their_ids(detector: CountingDetector) -> None:
    frames = [scene([(200 - 6 * i, 150, 100), (340 + 6 * i, 150, 100)]) for i in range(20)]
    found = run(FaceTracker(tracking()), detector, frames)
    first = {tid: d.x for tid, d in found[0]}
    left_id = min(first, key=lambda t: first[t])
    for faces in found:
        assert len(faces) == 2
        by_id = {tid: d.x for tid, d in faces}
        assert set(by_id) == set(first)
        assert by_id[left_id] == min(by_id.values())


def test_the_stream_reports_tracks_raw_scores_and_when_the_detector_ran(
    client: TestClient,
) -> None:
    frames = [encode(scene([(120 + 4 * i, 150, 120)])) for i in range(4)]
    with client.websocket_connect("/v1/stream?half_life_ms=0") as ws:
        results = []
        for i, frame in enumerate(frames):
            ws.send_text(json.dumps({"ts": round(i * FRAME_MS)}))
            ws.send_bytes(frame)
            results.append(ws.receive_json())
        ws.send_text(json.dumps({"half_life_ms": 50000, "ts": 1000}))
        ws.send_bytes(frames[0])
        last = ws.receive_json()
    assert [r["detector_ran"] for r in results] == [True, False, False, False]
    for r in results:
        (face,) = r["faces"]
        assert face["track_id"] == 1
        assert face["scores"] == face["raw_scores"]  # half-life 0: no smoothing
    (face,) = last["faces"]
    assert last["detector_ran"] is True and face["track_id"] == 1  # 900 ms since the last one
    # EMA on frame time: weight 1 - 0.5 ** (900 / 50000) for the new frame's scores.
    weight = smoothing_weight(1000 - round(3 * FRAME_MS), 50000)
    before = results[-1]["faces"][0]["scores"]
    for label, raw in face["raw_scores"].items():
        expected = before[label] + weight * (raw - before[label])
        assert face["scores"][label] == pytest.approx(expected, abs=2e-6)


def test_bad_tracking_options_close_the_stream(client: TestClient) -> None:
    from starlette.websockets import WebSocketDisconnect

    with client.websocket_connect("/v1/stream") as ws:
        ws.send_text(json.dumps({"half_life_ms": -5}))
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 1003 and "half_life_ms must be in 0..60000" in closed.value.reason


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("max_faces=0", "max_faces must be in 1..100"),
        ("half_life_ms=-5", "half_life_ms must be in 0..60000"),
        ("detect_every_ms=abc", "detect_every_ms must be an integer"),
    ],
)
def test_bad_options_in_the_url_close_with_a_reason_not_a_bare_403(
    client: TestClient, query: str, reason: str
) -> None:
    from starlette.websockets import WebSocketDisconnect

    with client.websocket_connect(f"/v1/stream?{query}") as ws:
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 1003 and reason in closed.value.reason
