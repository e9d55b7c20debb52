"""Soak: 10,000 mixed requests and streamed frames against a real server; no error, no leak."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator

import httpx
import numpy as np
import pytest
from websockets.sync.client import connect

from devtools.server import start_service
from tests.helpers.app import encode
from tests.helpers.live import ServerProbe, ws_url

REST_REQUESTS = 6_000
STREAM_FRAMES = 4_000
REST_CLIENTS = 4
STREAMS = 2


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProbe]:
    log = tmp_path_factory.mktemp("soak") / "uvicorn.log"
    proc, url = start_service("--no-access-log", log=log)
    try:
        yield ServerProbe(proc.pid, url)
    finally:
        proc.terminate()
        proc.wait(20)


@pytest.fixture(scope="module")
def uploads(
    astronaut_jpeg: bytes, three_faces: np.ndarray, no_face_jpeg: bytes
) -> list[tuple[bytes, str, int, int | None]]:
    """(bytes, content type, expected status, expected faces) in the soak's mix."""
    face, three, coffee = astronaut_jpeg, encode(three_faces, ".png"), no_face_jpeg
    tiny = encode(np.zeros((1, 1, 3), np.uint8), ".png")
    mix: list[tuple[bytes, str, int, int | None]] = [(face, "image/jpeg", 200, 1)] * 14
    mix += [(three, "image/png", 200, 3)] * 2 + [(coffee, "image/jpeg", 200, 0)] * 2
    mix += [(b"GIF89a not really", "image/gif", 415, None), (tiny, "image/png", 200, 0)]
    return mix


@pytest.mark.slow
def test_ten_thousand_mixed_operations_without_error_or_leak(
    server: ServerProbe, uploads: list[tuple[bytes, str, int, int | None]]
) -> None:
    mix = uploads
    outcomes: Counter[str] = Counter()
    rss: list[float] = []
    lock = threading.Lock()
    done = [0]

    def count(outcome: str) -> None:
        with lock:
            outcomes[outcome] += 1
            done[0] += 1
            if done[0] % 1000 == 0:
                rss.append(server.rss_mb())

    def rest_client(offset: int) -> None:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            for i in range(offset, REST_REQUESTS, REST_CLIENTS):
                data, mime, status, faces = mix[i % len(mix)]
                r = http.post("/v1/predict", files={"file": ("upload", data, mime)})
                ok = r.status_code == status and (faces is None or len(r.json()["faces"]) == faces)
                count("ok" if ok else f"rest {r.status_code} {r.text[:200]}")

    def stream_client(offset: int) -> None:
        frames = [mix[0][0]] * 9 + [b"not an image"]
        with connect(ws_url(server.url), max_size=2**22) as ws:
            last: dict[str, int] = {}  # the last result (errors carry fewer counters)
            for i in range(offset, STREAM_FRAMES, STREAMS):
                data = frames[i % len(frames)]
                ws.send(data)
                message = json.loads(ws.recv(timeout=60))
                expected = "error" if data == b"not an image" else "result"
                count("ok" if message["type"] == expected else f"stream {message}")
                if message["type"] == "result":
                    last = message
            accounted = last["processed"] + last["failed"] + last["dropped"]
            # one frame in flight: nothing dropped, and the last error came after this result
            count("ok" if last["dropped"] == 0 and accounted >= last["received"] - 1 else
                  f"stream counters {last}")  # fmt: skip

    def guarded(target: Callable[[int], None], offset: int) -> threading.Thread:
        def run() -> None:
            try:
                target(offset)
            except Exception as exc:  # reported by the main thread's assertion
                count(f"{target.__name__} raised {exc!r}")

        return threading.Thread(target=run)

    threads = [guarded(rest_client, i) for i in range(REST_CLIENTS)]
    threads += [guarded(stream_client, i) for i in range(STREAMS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    total = REST_REQUESTS + STREAM_FRAMES + STREAMS  # + one counter check per stream
    assert outcomes["ok"] == total, outcomes.most_common(5)
    assert len(rss) == 10
    # Growth from the first thousand operations (allocator pools warm) to the last.
    assert rss[-1] < rss[0] * 1.05, rss
    assert server.open_streams() == 0
