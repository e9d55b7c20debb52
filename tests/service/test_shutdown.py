"""SIGTERM: uvicorn drains in-flight requests and closes open streams cleanly."""

from __future__ import annotations

import signal
import threading
import time

import cv2
import httpx
import numpy as np
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from devtools.server import start_service


def test_sigterm_drains_requests_and_closes_streams(three_faces_jpeg: bytes) -> None:
    proc, url = start_service("--timeout-graceful-shutdown", "20")
    try:
        ws = connect(url.replace("http://", "ws://") + "/v1/stream")
        ws.send(three_faces_jpeg)
        assert ws.recv(timeout=30)
        statuses: list[int] = []
        # A 24 MP photo takes long enough to decode and scan that SIGTERM lands mid-request.
        small = np.asarray(cv2.imdecode(np.frombuffer(three_faces_jpeg, np.uint8), 1))
        big = cv2.resize(small, (6000, 4000))
        big_jpeg = cv2.imencode(".jpg", big)[1].tobytes()
        http = httpx.Client(base_url=url, timeout=30)
        assert http.get("/healthz").status_code == 200  # the connection is open and kept alive

        def slow_request() -> None:
            files = {"file": ("f.jpg", big_jpeg, "image/jpeg")}
            statuses.append(http.post("/v1/predict", files=files).status_code)

        worker = threading.Thread(target=slow_request)
        worker.start()
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                ws.recv(timeout=20)
        assert closed.value.rcvd is not None and closed.value.rcvd.code in (1001, 1012)
        worker.join(30)
        assert statuses == [200]
        http.close()
        # uvicorn re-raises SIGTERM once its graceful shutdown is complete.
        assert proc.wait(30) in (0, -signal.SIGTERM)
        log = proc.stdout.read().decode() if proc.stdout else ""
        assert "Waiting for application shutdown." in log
        assert "Finished server process" in log
    finally:
        if proc.poll() is None:
            proc.kill()
