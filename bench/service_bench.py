"""Benchmark the running service: REST and WebSocket throughput and latency; prints markdown.

    python bench/service_bench.py                 # starts uvicorn on the bundled model
    python bench/service_bench.py --url URL       # targets a running server instead
    python bench/service_bench.py --seconds 5 --json bench/results.json

With the peer's virtual environment in place (``make peer-venv``), the same run also times the
`fer` package in-process on the same one-face frame (bench/fer_peer.py) and prints our REST
requests/s at concurrency 8 as a ratio of its frames/s.

Real face photos (scikit-image's astronaut) composed onto 640x480 frames, JPEG quality 85:
one face, and three faces. The client runs on the same machine as the server, so both share
the CPU: read the numbers as a lower bound, and compare medians across runs. REST load comes
from stdlib ``http.client`` threads on keep-alive connections, each POSTing one pre-encoded
upload (as wrk or hey do); one extra row repeats concurrency 8 with httpx, the generator used
until 2026-12-01, which spends about three times the CPU per request on the client side.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import platform
import re
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import cv2
import httpx
import numpy as np
from skimage import data
from websockets.asyncio.client import connect

from devtools.server import start_service

ROOT = Path(__file__).resolve().parents[1]
PEER_PYTHON = ROOT / ".venv-fer" / "bin" / "python"
PEER_CONCURRENCY = 8  # the target is set at 8 concurrent clients


def frame(faces: int) -> bytes:
    """A 640x480 JPEG with ``faces`` copies of a real face photo."""
    photo = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    canvas = np.full((480, 640, 3), 110, np.uint8)
    if faces == 1:
        canvas[60:420, 140:500] = cv2.resize(photo, (360, 360))
    else:
        head = cv2.resize(photo[0:300, 100:350], (166, 200))
        for i in range(faces):
            canvas[140:340, 20 + i * 210 : 186 + i * 210] = head
    ok, buf = cv2.imencode(".jpg", canvas, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return buf.tobytes()


def percentile(samples: list[float], q: float) -> float:
    """The q-th percentile (0..100) of the samples."""
    return float(np.percentile(samples, q)) if samples else float("nan")


def multipart_upload(image: bytes) -> tuple[bytes, str]:
    """A multipart/form-data body with ``image`` as the ``file`` field, and its Content-Type."""
    boundary = uuid.uuid4().hex
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.jpg"'
            "\r\nContent-Type: image/jpeg\r\n\r\n")  # fmt: skip
    body = head.encode() + image + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _stdlib_poster(url: str, image: bytes) -> Callable[[], int]:
    """One keep-alive connection that POSTs the same pre-encoded upload (as wrk or hey do)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    body, content_type = multipart_upload(image)

    def post() -> int:
        connection.request("POST", "/v1/predict", body, {"Content-Type": content_type})
        response = connection.getresponse()
        response.read()
        return response.status

    return post


def _httpx_poster(url: str, image: bytes) -> Callable[[], int]:
    """httpx, encoding the multipart body on every request (the generator used until
    2026-12-01; about three times the client CPU per request of the stdlib one)."""
    http = httpx.Client(base_url=url, timeout=30)
    files = {"file": ("f.jpg", image, "image/jpeg")}
    return lambda: http.post("/v1/predict", files=files).status_code


LOAD_CLIENTS = {"stdlib": _stdlib_poster, "httpx": _httpx_poster}
CONNECTION_ERROR = 0  # the status recorded for a request that got no HTTP answer


def rest_load(
    url: str,
    image: bytes,
    concurrency: int,
    seconds: float,
    requests: int | None = None,
    client: str = "stdlib",
    server_pid: int | None = None,
    expect: int = 200,
) -> dict[str, Any]:
    """``concurrency`` clients POSTing back to back for ``seconds``, or until ``requests``
    requests have been sent when given. ``client``: the load generator (``LOAD_CLIENTS``);
    the default, stdlib ``http.client`` on keep-alive connections with the body encoded once,
    leaves the shared CPU to the server as far as a Python client can. Also reports the
    generator's own CPU milliseconds per request, and the server's with ``server_pid`` (a
    local process). Latencies and requests/s count the responses with status ``expect``."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds
    tickets = iter(range(requests)) if requests is not None else None
    connect = LOAD_CLIENTS[client]

    def more() -> bool:
        if tickets is None:
            return time.perf_counter() < stop_at
        with lock:
            return next(tickets, None) is not None

    def run() -> None:
        post = connect(url, image)
        while more():
            start = time.perf_counter()
            try:
                status = post()
            except (OSError, http.client.HTTPException, httpx.HTTPError):
                status = CONNECTION_ERROR  # counted as an error; carry on on a new connection
                post = connect(url, image)
            elapsed = (time.perf_counter() - start) * 1000
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
                if status == expect:
                    latencies.append(elapsed)

    threads = [threading.Thread(target=run) for _ in range(concurrency)]
    server_began = cpu_seconds(server_pid) if server_pid else 0.0
    began, cpu_began = time.perf_counter(), time.process_time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    sent = max(1, sum(statuses.values()))
    server_ms = (cpu_seconds(server_pid) - server_began) * 1000 / sent if server_pid else None
    return {
        "server_cpu_ms_per_request": server_ms,
        "concurrency": concurrency,
        "client": client,
        "expect": expect,
        "requests_per_s": len(latencies) / wall,
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "p99_ms": percentile(latencies, 99),
        "client_cpu_ms_per_request": (time.process_time() - cpu_began) * 1000 / sent,
        "statuses": statuses,
    }


async def one_stream(url: str, image: bytes, seconds: float, fps: float | None) -> dict[str, Any]:
    """One stream: as fast as answers come (fps None) or paced at ``fps`` without waiting."""
    ws_url = url.replace("http://", "ws://") + "/v1/stream"
    sent_at: dict[int, float] = {}
    latencies: list[float] = []
    last: dict[str, Any] = {}
    async with connect(ws_url, max_size=2**22) as ws:
        began = time.perf_counter()
        seq = 0
        if fps is None:
            while time.perf_counter() - began < seconds:
                seq += 1
                sent_at[seq] = time.perf_counter()
                await ws.send(image)
                last = json.loads(await ws.recv())
                latencies.append((time.perf_counter() - sent_at[last["seq"]]) * 1000)
        else:

            async def receive() -> None:
                nonlocal last
                async for message in ws:
                    last = json.loads(message)
                    latencies.append((time.perf_counter() - sent_at[last["seq"]]) * 1000)

            reader = asyncio.create_task(receive())
            while time.perf_counter() - began < seconds:
                seq += 1
                sent_at[seq] = time.perf_counter()
                await ws.send(image)
                await asyncio.sleep(max(0.0, began + seq / fps - time.perf_counter()))
            await asyncio.sleep(0.5)  # let the last answers arrive
            reader.cancel()
        wall = time.perf_counter() - began
    return {
        "sent": seq,
        "processed_fps": last.get("processed", 0) / wall,
        "dropped": last.get("dropped", 0),
        "drop_rate": last.get("dropped", 0) / max(1, last.get("received", 1)),
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
    }


def fer_peer(image: bytes, seconds: float, python: Path = PEER_PYTHON) -> dict[str, Any] | None:
    """The `fer` package timed in-process on ``image`` (its own venv); None if not installed."""
    if not python.is_file():
        return None
    path = ROOT / "test-output" / "peer-frame.jpg"
    path.write_bytes(image)
    script = ROOT / "bench" / "fer_peer.py"
    done = subprocess.run(
        [str(python), str(script), str(path), "--seconds", str(seconds)],
        capture_output=True, text=True, timeout=seconds + 600,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"the fer peer failed: {done.stderr.strip()[-2000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def stage_means(url: str) -> dict[str, float]:
    """Mean ms per pipeline stage, from the server's own histograms."""
    text = httpx.get(url + "/metrics").text
    sums = dict(re.findall(r'fer_stage_seconds_sum\{stage="(\w+)"\} ([\d.e+-]+)', text))
    counts = dict(re.findall(r'fer_stage_seconds_count\{stage="(\w+)"\} ([\d.e+-]+)', text))
    return {k: 1000 * float(sums[k]) / max(1.0, float(counts[k])) for k in sums}


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a local process has used (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """Resident (VmRSS) or peak resident (VmHWM) memory of a local process in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def rss_growth(url: str, pid: int, image: bytes, requests: int) -> dict[str, Any]:
    """RSS after a 1,000-request warm-up and after ``requests`` more at concurrency 8."""
    rest_load(url, image, 8, float("inf"), requests=1000)
    before = rss_mb(pid)
    run = rest_load(url, image, 8, float("inf"), requests=requests)
    after = rss_mb(pid)
    return {"requests": requests, "statuses": run["statuses"], "rss_before_mb": before,
            "rss_after_mb": after, "growth": after / before - 1}  # fmt: skip


def main() -> None:
    """Run every scenario and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--json", type=Path, default=ROOT / "test-output" / "bench.json")
    parser.add_argument(
        "--rss-requests",
        type=int,
        default=10_000,
        help="requests for the RSS growth check (0: skip)",
    )
    parser.add_argument(
        "--only", choices=("rest", "streams"), help="run one scenario group (default: all)"
    )
    args = parser.parse_args()
    proc = None
    url = args.url
    if url is None:
        log = ROOT / "test-output" / "bench-server.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        proc, url = start_service("--log-level", "warning", log=log)
    machine = f"{platform.machine()}, {platform.platform()}"
    results: dict[str, Any] = {"machine": machine, "date": time.strftime("%Y-%m-%d %H:%M")}
    results.update(rest=[], ws={})
    pid = proc.pid if proc is not None else None
    try:
        for faces in (1, 3) if args.only != "streams" else ():
            image = frame(faces)
            rest_load(url, image, 2, 1.0)  # warm the path
            for concurrency in sorted({1, 4, PEER_CONCURRENCY, 16}):
                row = rest_load(url, image, concurrency, args.seconds, server_pid=pid)
                row["faces"] = faces
                results["rest"].append(row)
            if faces == 1:  # the same row with the earlier, heavier load generator
                row = rest_load(
                    url, image, PEER_CONCURRENCY, args.seconds, client="httpx", server_pid=pid
                )
                results["rest_httpx"] = row | {"faces": 1}
        if args.only != "streams":  # what HTTP, multipart, routing and the error body cost
            row = rest_load(
                url, b"", PEER_CONCURRENCY, args.seconds / 2, server_pid=pid, expect=422
            )
            results["rest_empty_upload"] = row | {"faces": "empty upload (422)"}
        one = frame(1)
        if args.only != "streams":
            results["peer"] = fer_peer(one, args.seconds)

        async def four_streams() -> list[dict[str, Any]]:
            return list(
                await asyncio.gather(*(one_stream(url, one, args.seconds, 30) for _ in range(4)))
            )

        if args.only != "rest":
            results["ws"]["one_stream_max"] = asyncio.run(one_stream(url, one, args.seconds, None))
            results["ws"]["four_streams_30fps"] = asyncio.run(four_streams())
        results["stages_ms"] = stage_means(url)
        if proc is not None:
            results["server_peak_rss_mb"] = rss_mb(proc.pid, "VmHWM")
            if args.rss_requests and args.only is None:
                results["rss_growth"] = rss_growth(url, proc.pid, one, args.rss_requests)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)

    print(f"machine: {results['machine']}, {results['date']}\n")
    print("| REST /v1/predict | faces | concurrency | req/s | p50 ms | p95 ms | p99 ms | errors "
          "| server CPU ms/request | client CPU ms/request |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    extra = [results[k] for k in ("rest_httpx", "rest_empty_upload") if k in results]
    for r in results["rest"] + extra:
        errors = sum(v for k, v in r["statuses"].items() if k != r["expect"])
        server = r["server_cpu_ms_per_request"]
        cells = [r["faces"], r["concurrency"], f"{r['requests_per_s']:.1f}", f"{r['p50_ms']:.1f}",
                 f"{r['p95_ms']:.1f}", f"{r['p99_ms']:.1f}", errors,
                 "" if server is None else f"{server:.2f}",
                 f"{r['client_cpu_ms_per_request']:.2f} ({r['client']})"]  # fmt: skip
        print("| 640x480 JPEG | " + " | ".join(str(c) for c in cells) + " |")
    if results.get("peer"):
        peer = results["peer"]
        ours = next(r for r in results["rest"] if (r["faces"], r["concurrency"]) == (1, 8))
        ratio = ours["requests_per_s"] / peer["frames_per_s"]
        print(f"\n| one face, 640x480 JPEG, same run | per second | p50 ms | vs {peer['peer']} |")
        print("|---|---|---|---|")
        print(f"| this service, REST, {PEER_CONCURRENCY} clients | {ours['requests_per_s']:.1f} | "
              f"{ours['p50_ms']:.1f} | {ratio:.2f}x |")  # fmt: skip
        print(f"| {peer['peer']}, in-process, decode + detect_emotions | "
              f"{peer['frames_per_s']:.1f} | {peer['median_ms']:.1f} | 1.00x |")  # fmt: skip
        results["peer"]["ratio"] = ratio
    elif args.only != "streams":
        print(f"\n(no fer peer: {PEER_PYTHON} is missing; make peer-venv installs it)")
    if results["ws"]:
        one_max = results["ws"]["one_stream_max"]
        four = results["ws"]["four_streams_30fps"]
        print("\n| WebSocket | processed fps | drop rate | p50 ms | p99 ms |")
        print("|---|---|---|---|---|")
        rows = [("1 stream, as fast as answered", one_max)]
        rows += [(f"stream {i} of 4 at 30 fps", s) for i, s in enumerate(four, 1)]
        for name, s in rows:
            print(f"| {name} | {s['processed_fps']:.1f} | {s['drop_rate']:.1%} | "
                  f"{s['p50_ms']:.1f} | {s['p99_ms']:.1f} |")  # fmt: skip
    print("\n| stage | mean ms |\n|---|---|")
    for stage, ms in results.get("stages_ms", {}).items():
        print(f"| {stage} | {ms:.2f} |")
    if "server_peak_rss_mb" in results:
        print(f"\nserver peak RSS: {results['server_peak_rss_mb']:.0f} MB")
    if "rss_growth" in results:
        g = results["rss_growth"]
        print(f"RSS over {g['requests']} more requests: {g['rss_before_mb']:.0f} -> "
              f"{g['rss_after_mb']:.0f} MB ({g['growth']:+.1%}); "
              f"statuses {g['statuses']}")  # fmt: skip
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nJSON: {args.json}")


if __name__ == "__main__":
    main()
