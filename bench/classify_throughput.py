"""Crops per second through ``POST /v1/classify`` at 1, 8, 32 and 64 crops per request.

    python -m bench.classify_throughput               # starts uvicorn on the bundled model
    python -m bench.classify_throughput --url URL     # targets a running server instead

Real 48x48 faces: FER-2013 val from ../shared when it is there, else crops of scikit-image's
astronaut photo. One client thread per concurrent request (``--concurrency``, default 2, the
service's default worker count), on keep-alive connections; the client shares the CPU with the
server, so read the numbers as a lower bound.
"""

from __future__ import annotations

import argparse
import threading
import time
from pathlib import Path

import cv2
import httpx

from devtools.paths import EMOTION_FOLDERS, FER_DATA
from devtools.photos import sample_photo
from devtools.server import start_service

BATCHES = (1, 8, 32, 64)


def face_crops(count: int) -> list[tuple[str, bytes]]:
    """``count`` real face crops as (filename, JPEG or PNG bytes)."""
    if (FER_DATA / "val").is_dir():
        files = [f for e in EMOTION_FOLDERS for f in sorted((FER_DATA / "val" / e).iterdir())[:10]]
        return [(f.name, f.read_bytes()) for f in (files * (count // len(files) + 1))[:count]]
    face = cv2.cvtColor(sample_photo("astronaut")[60:200, 170:290], cv2.COLOR_BGR2GRAY)
    png = cv2.imencode(".png", cv2.resize(face, (48, 48), interpolation=cv2.INTER_AREA))[1]
    return [(f"astronaut-{i}.png", png.tobytes()) for i in range(count)]


def crops_per_second(url: str, batch: int, seconds: float, concurrency: int) -> float:
    """Crops answered per second with ``batch`` crops per request."""
    crops = face_crops(batch)
    files = [("file", (name, data, "image/jpeg")) for name, data in crops]
    done = [0] * concurrency
    deadline = time.perf_counter() + seconds

    def worker(slot: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            while time.perf_counter() < deadline:
                response = http.post("/v1/classify", files=files)
                if response.status_code == 200:
                    done[slot] += batch
                elif response.status_code != 503:
                    raise RuntimeError(f"{response.status_code}: {response.text}")

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / (time.perf_counter() - started)


def main() -> None:
    """Print a markdown table of crops/s per batch size."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="a running service (default: start one)")
    parser.add_argument("--seconds", type=float, default=5.0, help="per batch size")
    parser.add_argument("--concurrency", type=int, default=2, help="requests at a time")
    args = parser.parse_args()
    proc = None
    url = args.url
    if url is None:
        proc, url = start_service(log=Path("/tmp") / "classify-bench-uvicorn.log")
    try:
        crops_per_second(url, 8, 1.0, 1)  # warm-up
        print(f"| crops per request | crops/s (concurrency {args.concurrency}) |")
        print("|---:|---:|")
        for batch in BATCHES:
            rate = crops_per_second(url, batch, args.seconds, args.concurrency)
            print(f"| {batch} | {rate:.0f} |", flush=True)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
