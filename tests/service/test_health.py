"""Liveness, readiness, model info and the metrics they expose."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient

from service.classifier import EmotionModel
from tests.helpers.app import make_client, post_image, wait_until_ready
from training.labels import EMOTIONS


def test_health_and_model_info(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}
    info = client.get("/v1/model").json()
    assert info["labels"] == list(EMOTIONS)  # the model file's own label order
    assert info["crop"]["size"] == 48 and info["crop"]["channels"] == 1
    assert info["detector"] == "blazeface-back"
    assert info["align_faces"] is True
    assert 0 < info["metadata"]["val_metrics"]["accuracy"] <= 1


def test_the_chosen_detector_serves_with_its_bundled_file(astronaut_jpeg: bytes) -> None:
    with make_client(detector="yunet") as c:
        wait_until_ready(c)
        assert c.get("/v1/model").json()["detector"] == "yunet-s"
        (face,) = post_image(c, astronaut_jpeg).json()["faces"]
    box = face["box"]  # the astronaut's face, centre (226, 126), about 104 px
    assert abs(box["x"] + box["w"] / 2 - 226) < 16 and abs(box["y"] + box["h"] / 2 - 126) < 16
    assert face["detector_score"] >= 0.6


def test_readyz_stays_false_until_the_model_is_warm(
    monkeypatch: pytest.MonkeyPatch, astronaut_jpeg: bytes
) -> None:
    gate = threading.Event()
    real_warm_up = EmotionModel.warm_up

    def gated_warm_up(self: EmotionModel, runs: int) -> None:
        gate.wait(10)
        real_warm_up(self, runs)

    monkeypatch.setattr(EmotionModel, "warm_up", gated_warm_up)
    with make_client() as c:
        r = c.get("/readyz")
        assert r.status_code == 503 and r.json()["error"]["code"] == "not_ready"
        busy = post_image(c, astronaut_jpeg)
        assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
        assert c.get("/healthz").status_code == 200
        gate.set()
        wait_until_ready(c)
        assert post_image(c, astronaut_jpeg).status_code == 200


def test_metrics_show_the_counters_moving(client: TestClient, astronaut_jpeg: bytes) -> None:
    def sample(text: str, prefix: str) -> float:
        lines = [ln for ln in text.splitlines() if ln.startswith(prefix)]
        return float(lines[0].rsplit(" ", 1)[1]) if lines else 0.0

    before = client.get("/metrics").text
    post_image(client, astronaut_jpeg)
    post_image(client, b"junk")
    with client.websocket_connect("/v1/stream") as ws:
        ws.send_bytes(astronaut_jpeg)
        ws.receive_json()
    after = client.get("/metrics").text
    ok = 'fer_http_requests_total{route="/v1/predict",status="200"}'
    bad = 'fer_http_requests_total{route="/v1/predict",status="415"}'
    assert sample(after, ok) == sample(before, ok) + 1
    assert sample(after, bad) == sample(before, bad) + 1
    processed = 'fer_stream_frames_total{outcome="processed"}'
    assert sample(after, processed) == sample(before, processed) + 1
    detect = 'fer_stage_seconds_count{stage="detect"}'
    assert sample(after, detect) == sample(before, detect) + 2
    assert sample(after, 'fer_faces_per_image_bucket{le="1.0"}') >= 2
    assert "fer_open_streams 0.0" in after
