"""Access control: API keys on REST and streams, and the CORS allow-list."""

from __future__ import annotations

import pytest

from tests.helpers.app import make_client, post_image, wait_until_ready


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
