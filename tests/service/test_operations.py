"""Health, readiness, metrics, model info, the bounded pool, settings and model-file faults."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.api.errors import error_response
from service.classifier import EmotionModel, ModelLoadError
from service.config import BUNDLED_MODEL
from service.errors import ServerBusy
from service.workers import WorkerPool
from tests.helpers.paths import ROOT
from tests.service.conftest import make_client, post_image, wait_until_ready


def test_health_and_model_info(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}
    info = client.get("/v1/model").json()
    assert info["labels"] == ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    assert info["crop"]["size"] == 48 and info["crop"]["channels"] == 1
    assert info["detector"] == "blazeface-back"
    assert info["align_faces"] is True
    assert 0 < info["metadata"]["val_metrics"]["accuracy"] <= 1


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


def test_a_saturated_pool_rejects_with_503_and_retry_after() -> None:
    async def scenario() -> None:
        pool = WorkerPool(threads=1, queue_size=0)
        release = threading.Event()
        blocked = asyncio.create_task(pool.run(release.wait, 5))
        await asyncio.sleep(0.05)
        assert pool.busy
        with pytest.raises(ServerBusy) as rejected:
            await pool.run_or_reject(time.sleep, 0)
        answer = error_response(rejected.value)
        assert answer.status_code == 503 and answer.headers["Retry-After"] == "1"
        release.set()
        await blocked
        assert await pool.run_or_reject(sum, [1, 2]) == 3
        pool.shutdown()

    asyncio.run(scenario())


def _start_app(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    code = "import service.main as m; from fastapi.testclient import TestClient\n" \
           "with TestClient(m.app): pass"  # fmt: skip
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
        env={**os.environ, **env}, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"FER_WORKER_THREADS": "0"},
            "FER_WORKER_THREADS: Input should be greater than or equal to 1",
        ),
        (
            {"FER_MODEL_PATH": "/nowhere/model.onnx"},
            "model file /nowhere/model.onnx does not exist",
        ),
        ({"FER_DETECTOR": "magic"}, "FER_DETECTOR: Input should be 'blazeface' or 'haar'"),
        (
            {"FER_DETECTOR_MODEL_PATH": "/nowhere/face.onnx"},
            "model file /nowhere/face.onnx does not exist",
        ),
        (
            {"FER_DETECTOR_INPUT_SIDE": "300"},
            "FER_DETECTOR_INPUT_SIDE: Input should be a multiple of 32",
        ),
    ],
)
def test_a_bad_setting_stops_start_up_with_a_clear_message(
    env: dict[str, str], message: str
) -> None:
    result = _start_app(env)
    assert result.returncode != 0
    assert "invalid configuration" in result.stderr and message in result.stderr


def test_a_corrupt_model_file_stops_start_up(tmp_path: Path) -> None:
    corrupt = tmp_path / "broken.onnx"
    corrupt.write_bytes(BUNDLED_MODEL.read_bytes()[:5000])
    with pytest.raises(ModelLoadError, match="cannot load model"):
        EmotionModel(corrupt)
    result = _start_app({"FER_MODEL_PATH": str(corrupt)})
    assert result.returncode != 0
    assert "start-up failed: cannot load model" in result.stderr


def test_api_keys_guard_rest_and_stream_when_configured(astronaut_jpeg: bytes) -> None:
    from starlette.websockets import WebSocketDisconnect

    with make_client(api_keys="alpha,beta") as c:
        wait_until_ready(c)
        refused = post_image(c, astronaut_jpeg)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "unauthorized"
        assert c.get("/v1/model", headers={"X-API-Key": "wrong"}).status_code == 401
        ok = c.post(
            "/v1/predict",
            files={"file": ("a.jpg", astronaut_jpeg, "image/jpeg")},
            headers={"X-API-Key": "beta"},
        )
        assert ok.status_code == 200 and len(ok.json()["faces"]) == 1
        assert c.get("/healthz").status_code == 200 and c.get("/metrics").status_code == 200
        with c.websocket_connect("/v1/stream") as ws:
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json()
        assert closed.value.code == 1008 and "API key" in closed.value.reason
        with c.websocket_connect("/v1/stream?api_key=alpha") as ws:
            ws.send_bytes(astronaut_jpeg)
            assert len(ws.receive_json()["faces"]) == 1


def test_cors_allows_only_listed_origins() -> None:
    with make_client(cors_origins="https://app.example") as c:
        preflight = {"Access-Control-Request-Method": "POST"}
        allowed = c.options("/v1/predict", headers={"Origin": "https://app.example", **preflight})
        assert allowed.headers["access-control-allow-origin"] == "https://app.example"
        other = c.options("/v1/predict", headers={"Origin": "https://evil.example", **preflight})
        assert "access-control-allow-origin" not in other.headers
