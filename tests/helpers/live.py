"""Helpers for tests against a real uvicorn process: its memory, file descriptors and gauges,
a well-behaved stream client, and a corpus of hostile uploads with their documented answers."""

from __future__ import annotations

import io
import re
import statistics
import struct
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import httpx
import numpy as np
from PIL import Image
from websockets.sync.client import connect


@dataclass(frozen=True)
class ServerProbe:
    """Reads a local server process's resident memory, open descriptors and stream gauge."""

    pid: int
    url: str

    def rss_mb(self) -> float:
        return self._status_kb("VmRSS") / 1024

    def peak_rss_mb(self) -> float:
        return self._status_kb("VmHWM") / 1024

    def fds(self) -> int:
        return len(list(Path(f"/proc/{self.pid}/fd").iterdir()))

    def open_streams(self) -> float:
        text = httpx.get(self.url + "/metrics", timeout=10).text
        match = re.search(r"^fer_open_streams ([\d.]+)$", text, re.MULTILINE)
        assert match, "fer_open_streams missing from /metrics"
        return float(match.group(1))

    def settle(self, fds: int, timeout: float = 20.0) -> None:
        """Wait until no stream is open and descriptors are back to ``fds`` (small slack)."""
        deadline = time.monotonic() + timeout
        while True:
            streams, now = self.open_streams(), self.fds()
            if streams == 0 and now <= fds + 2:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"not back to baseline: {streams} streams, {now} fds > {fds}")
            time.sleep(0.2)

    def _status_kb(self, field: str) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise AssertionError(f"{field} missing from /proc/{self.pid}/status")


def ws_url(url: str) -> str:
    return url.replace("http://", "ws://") + "/v1/stream"


def stream_round_trips(url: str, image: bytes, frames: int) -> list[float]:
    """A polite stream (one frame in flight): round-trip milliseconds per frame."""
    times = []
    with connect(ws_url(url), max_size=2**22, open_timeout=30) as ws:
        for _ in range(frames):
            start = time.perf_counter()
            ws.send(image)
            ws.recv(timeout=60)
            times.append((time.perf_counter() - start) * 1000)
    return times


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples)


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    body = kind + payload
    return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims ``width`` x ``height`` and carries almost no pixels."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + _png_chunk(b"IEND", b"")
    )


def hostile_uploads(photo_bgr: np.ndarray) -> list[tuple[str, bytes, str, set[int]]]:
    """(name, bytes, content type, allowed statuses) for uploads a service on a network gets."""
    rgb = cv2.cvtColor(photo_bgr, cv2.COLOR_BGR2RGB)
    jpeg = cv2.imencode(".jpg", photo_bgr)[1].tobytes()

    def save(image: Image.Image, fmt: str, **kwargs: object) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, fmt, **kwargs)
        return buffer.getvalue()

    frames = [Image.fromarray(rgb), Image.fromarray(255 - rgb)]
    return [
        ("empty", b"", "image/jpeg", {400, 415, 422}),
        ("truncated jpeg", jpeg[: len(jpeg) // 3], "image/jpeg", {200, 422}),
        ("text as jpeg", b"hello, not an image\n" * 50, "image/jpeg", {415}),
        ("1x1 png", save(Image.new("L", (1, 1)), "PNG"), "image/png", {200}),
        ("50000x50000 png header", png_header_only(50_000, 50_000), "image/png", {413}),
        (
            "16-bit png",
            cv2.imencode(".png", (photo_bgr.astype(np.uint16) * 257))[1].tobytes(),
            "image/png",
            {200},
        ),  # fmt: skip
        ("cmyk jpeg", save(Image.fromarray(rgb).convert("CMYK"), "JPEG"), "image/jpeg", {200}),
        (
            "animated gif",
            save(frames[0], "GIF", save_all=True, append_images=frames[1:]),
            "image/gif",
            {415},
        ),  # fmt: skip
        ("no content type", jpeg, "", {200}),
    ]
