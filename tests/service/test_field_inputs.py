"""Field-report input kinds not pinned elsewhere: HEIC uploads, base64 text frames, streams
whose frame size changes, and 16 requests in flight at once."""

from __future__ import annotations

import base64
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.helpers.app import encode, post_image

# The first bytes of an iPhone HEIC photo: an ISO-BMFF 'ftyp' box with brand 'heic'.
HEIC_HEADER = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64


def test_heic_uploads_get_415_naming_the_formats_that_work(client: TestClient) -> None:
    response = post_image(client, HEIC_HEADER, name="IMG_0001.HEIC", mime="image/heic")
    assert response.status_code == 415
    body = response.json()
    assert body["error"]["code"] == "unsupported_media_type"
    assert "JPEG, PNG, WebP, BMP or TIFF" in body["error"]["message"]


def test_a_base64_text_frame_closes_the_stream_with_a_reason(
    client: TestClient, astronaut_jpeg: bytes
) -> None:
    with client.websocket_connect("/v1/stream") as ws:
        ws.send_text(base64.b64encode(astronaut_jpeg).decode())
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 1003 and "must be JSON" in closed.value.reason


def test_frames_of_changing_sizes_each_get_their_own_geometry(
    client: TestClient, astronaut: np.ndarray
) -> None:
    sizes = [(640, 480), (320, 240), (1280, 720), (97, 61), (512, 512), (480, 640)]
    with client.websocket_connect("/v1/stream") as ws:
        for width, height in sizes:
            ws.send_bytes(encode(cv2.resize(astronaut, (width, height))))
            result = ws.receive_json()
            assert result["type"] == "result"
            assert result["image"] == {"width": width, "height": height}
            for face in result["faces"]:
                box = face["box"]
                assert box["x"] + box["w"] <= width and box["y"] + box["h"] <= height
    assert result["processed"] == len(sizes) and result["failed"] == 0


def test_sixteen_requests_in_flight_are_answered_or_refused_with_retry_after(
    client: TestClient, astronaut_jpeg: bytes
) -> None:
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda _: post_image(client, astronaut_jpeg), range(16)))
    ok = [a for a in answers if a.status_code == 200]
    busy = [a for a in answers if a.status_code == 503]
    assert len(ok) + len(busy) == 16 and ok
    assert all(len(a.json()["faces"]) == 1 for a in ok)
    assert all(a.headers["Retry-After"] == "1" for a in busy)
    assert all(a.json()["error"]["code"] == "server_busy" for a in busy)


@pytest.mark.parametrize("keep", [20, 100, 600, 2000])
def test_a_jpeg_cut_short_is_undecodable_not_unsupported(
    client: TestClient, astronaut_jpeg: bytes, keep: int
) -> None:
    response = post_image(client, astronaut_jpeg[:keep])
    assert response.status_code in (200, 422), response.text  # libjpeg may fill in grey
    if response.status_code == 422:
        assert response.json()["error"]["code"] == "undecodable_image"
