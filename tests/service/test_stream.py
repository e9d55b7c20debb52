"""WS /v1/stream: results in order, sequence numbers, counted drops, options, limits, errors."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.helpers.app import make_client, wait_until_ready


def test_frames_in_results_out_in_order(client: TestClient, astronaut_jpeg: bytes,
                                        no_face_jpeg: bytes) -> None:  # fmt: skip
    with client.websocket_connect("/v1/stream") as ws:
        results = []
        for frame in (astronaut_jpeg, no_face_jpeg, astronaut_jpeg):
            ws.send_bytes(frame)
            results.append(ws.receive_json())
    assert [r["seq"] for r in results] == [1, 2, 3]
    assert [len(r["faces"]) for r in results] == [1, 0, 1]
    assert results[-1]["received"] == 3 and results[-1]["processed"] == 3
    assert results[-1]["dropped"] == 0
    assert results[0]["type"] == "result"
    assert sum(results[0]["faces"][0]["scores"].values()) == pytest.approx(1.0, abs=1e-4)


def test_client_sequence_numbers_and_options_are_used(
    client: TestClient, three_faces_jpeg: bytes
) -> None:
    with client.websocket_connect("/v1/stream?max_faces=1") as ws:
        ws.send_text(json.dumps({"seq": 1000}))
        ws.send_bytes(three_faces_jpeg)
        first = ws.receive_json()
        ws.send_text(json.dumps({"seq": 1001, "max_faces": 3}))
        ws.send_bytes(three_faces_jpeg)
        second = ws.receive_json()
    assert (first["seq"], len(first["faces"])) == (1000, 1)
    assert (second["seq"], len(second["faces"])) == (1001, 3)


def test_flooding_a_busy_server_drops_stale_frames_and_counts_them(
    client: TestClient, three_faces_jpeg: bytes
) -> None:
    sent = 40
    with client.websocket_connect("/v1/stream") as ws:
        for _ in range(sent):
            ws.send_bytes(three_faces_jpeg)
        seqs = []
        while True:
            result = ws.receive_json()
            seqs.append(result["seq"])
            if result["processed"] + result["dropped"] == sent:
                break
    assert result["received"] == sent
    assert result["dropped"] > 0, "a 40-frame burst should outrun the server"
    assert seqs == sorted(seqs) and seqs[-1] == sent  # the newest frame always gets an answer
    assert result["processed"] == len(seqs)


def test_a_bad_frame_is_reported_and_the_stream_goes_on(
    client: TestClient, astronaut_jpeg: bytes
) -> None:
    with client.websocket_connect("/v1/stream") as ws:
        ws.send_bytes(b"not an image")
        error = ws.receive_json()
        ws.send_bytes(astronaut_jpeg)
        result = ws.receive_json()
    assert error["type"] == "error" and error["seq"] == 1 and error["failed"] == 1
    assert error["error"]["code"] == "unsupported_media_type"
    assert result["type"] == "result" and result["seq"] == 2 and len(result["faces"]) == 1
    assert (result["received"], result["processed"], result["failed"]) == (2, 1, 1)


@pytest.mark.parametrize(
    ("message", "code", "reason"),
    [
        ("not json", 1003, "must be JSON"),
        ('{"colour": 3}', 1003, "unknown control field"),
        ('{"max_faces": 0}', 1003, "max_faces must be in"),
        ('{"seq": "one"}', 1003, "seq must be an integer"),
    ],
)
def test_protocol_violations_close_with_code_and_reason(
    client: TestClient, message: str, code: int, reason: str
) -> None:
    with client.websocket_connect("/v1/stream") as ws:
        ws.send_text(message)
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == code
    assert reason in closed.value.reason


def test_oversized_frames_and_floods_hit_their_limits(astronaut_jpeg: bytes) -> None:
    with make_client(stream_max_message_bytes=10_000, stream_max_messages_per_second=5) as c:
        wait_until_ready(c)
        with c.websocket_connect("/v1/stream") as ws:
            ws.send_bytes(astronaut_jpeg)
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json()
        assert closed.value.code == 1009
        with c.websocket_connect("/v1/stream") as ws:
            for _ in range(10):
                ws.send_text('{"seq": 1}')
            with pytest.raises(WebSocketDisconnect) as closed:
                while True:
                    ws.receive_json()
        assert closed.value.code == 1008
        assert "messages per second" in closed.value.reason
        metrics = c.get("/metrics").text
    assert "fer_open_streams 0.0" in metrics
