"""Drive api replicas through the load balancer: fair share, failover under load, reconnects.

    python scripts/scale_client.py http://127.0.0.1:18080 --stats URL CONTAINER...

CONTAINER... are the replicas' container ids: each one's /metrics is read with `docker exec`,
and one of them is stopped with `docker stop` while REST requests and streams are running.
Exits non-zero, saying what was wrong, on the first failed check.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families
from smoke_client import astronaut_jpeg, check, post_image
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import ClientConnection, connect

REST_REQUESTS = 300
REST_CONCURRENCY = 6
STREAMS = 6
FAIR_TOLERANCE = 0.4  # each replica's share within 40% of an even split
FAILOVER_LIMIT_S = 5.0  # REST requests may fail for at most this long after a replica stops
CLEAN_CLOSE_CODES = {1001, 1012}  # going away, service restart
READ_METRICS = (
    "import urllib.request; "
    "print(urllib.request.urlopen('http://127.0.0.1:8000/metrics', timeout=5).read().decode())"
)
Metrics = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def replica_metrics(container: str) -> Metrics:
    """One replica's /metrics, read from inside its container, as {(sample, labels): value}."""
    text = subprocess.run(
        ["docker", "exec", container, "python", "-c", READ_METRICS],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def predictions(metrics: Metrics) -> int:
    """Successful POST /v1/predict requests a replica has answered."""
    key = ("fer_http_requests_total", (("route", "/v1/predict"), ("status", "200")))
    return int(metrics.get(key, 0))


def open_streams(container: str) -> int:
    return int(replica_metrics(container)[("fer_open_streams", ())])


def servers_up(stats_url: str) -> int:
    """Replicas HAProxy's health checks currently hold UP."""
    text = urllib.request.urlopen(f"{stats_url};csv", timeout=10).read().decode()
    rows = csv.DictReader(io.StringIO(text.lstrip("# ")))
    return sum(
        1
        for r in rows
        if r["pxname"] == "replicas" and r["svname"] != "BACKEND" and r["status"] == "UP"
    )


def wait_for(condition: str, probe: Callable[[], bool], deadline_s: float) -> None:
    """Poll ``probe()`` until true; fail naming ``condition`` after ``deadline_s``."""
    end = time.monotonic() + deadline_s
    while not probe():
        if time.monotonic() > end:
            check(False, condition)
        time.sleep(0.5)


@dataclass
class RestResult:
    started: float
    ok: bool
    error: str = ""


def predict_ok(base: str, image: bytes) -> RestResult:
    """One POST through the balancer; ok when it is a 200 with the one face."""
    started = time.monotonic()
    try:
        ok = len(post_image(base, image)["faces"]) == 1
        return RestResult(started, ok, "" if ok else "wrong number of faces")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return RestResult(started, False, repr(exc))


@dataclass
class Stream:
    """A stream client in a thread: one frame in flight, reconnecting after a server close."""

    url: str
    image: bytes
    answered: int = 0
    answered_since_reconnect: int = 0
    closes: list[int | None] = field(default_factory=list)
    error: str = ""
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        seq = 0
        while not self.stop.is_set():
            try:
                ws = self._connect()
            except Exception as exc:  # reported as the check's failure
                self.error = f"reconnect failed: {exc!r}"
                return
            try:
                with ws:
                    while not self.stop.is_set():
                        seq += 1
                        ws.send(json.dumps({"seq": seq}))
                        ws.send(self.image)
                        answer = json.loads(ws.recv(timeout=30))
                        if answer["seq"] != seq or len(answer["faces"]) != 1:
                            self.error = f"wrong answer {answer}"
                            return
                        self.answered += 1
                        if self.closes:
                            self.answered_since_reconnect += 1
                        time.sleep(0.1)
            except ConnectionClosed as exc:
                self.closes.append(exc.rcvd.code if exc.rcvd else None)
            except Exception as exc:
                self.error = repr(exc)
                return

    def _connect(self) -> ClientConnection:
        for _ in range(20):
            try:
                return connect(self.url, max_size=2**22, open_timeout=10)
            except (OSError, ConnectionClosed, InvalidHandshake):
                time.sleep(0.5)
        return connect(self.url, max_size=2**22, open_timeout=10)


def fair_share(base: str, image: bytes, replicas: list[str]) -> None:
    """Hundreds of REST requests through the balancer land evenly on every replica."""
    before = [predictions(replica_metrics(c)) for c in replicas]
    with ThreadPoolExecutor(REST_CONCURRENCY) as pool:
        results = list(pool.map(lambda _: predict_ok(base, image), range(REST_REQUESTS)))
    failed = [r.error for r in results if not r.ok]
    check(not failed, f"{REST_REQUESTS} POST /v1/predict through the balancer all succeed")
    served = [predictions(replica_metrics(c)) - b for c, b in zip(replicas, before, strict=True)]
    even = REST_REQUESTS / len(replicas)
    shares = ", ".join(
        f"{c[:12]}: {n} ({n / REST_REQUESTS:.0%})" for c, n in zip(replicas, served, strict=True)
    )
    print(f"requests per replica: {shares}")
    check(sum(served) == REST_REQUESTS, "every request is counted by exactly one replica")
    check(
        all(abs(n - even) <= FAIR_TOLERANCE * even for n in served),
        f"every replica served a fair share (within {FAIR_TOLERANCE:.0%} of {even:.0f})",
    )


def failover(base: str, stats_url: str, image: bytes, replicas: list[str]) -> None:
    """Stop the replica holding the most streams while REST load and streams run."""
    ws_url = base.replace("http://", "ws://") + "/v1/stream"
    streams = [Stream(ws_url, image) for _ in range(STREAMS)]
    threads = [threading.Thread(target=s.run, daemon=True) for s in streams]
    for t in threads:
        t.start()
    wait_for(f"{STREAMS} streams answer", lambda: all(s.answered >= 2 for s in streams), 60)
    held = {c: open_streams(c) for c in replicas}
    print("streams per replica: " + ", ".join(f"{c[:12]}: {n}" for c, n in held.items()))
    check(sum(held.values()) == STREAMS, f"the replicas hold the {STREAMS} streams")
    check(all(held.values()), "every replica holds at least one stream")
    victim = max(held, key=lambda c: held[c])

    results: list[RestResult] = []
    done = threading.Event()

    def load() -> None:
        while not done.is_set():
            results.append(predict_ok(base, image))

    loaders = [threading.Thread(target=load, daemon=True) for _ in range(4)]
    for t in loaders:
        t.start()
    time.sleep(2)
    stopped_at = time.monotonic()
    subprocess.run(["docker", "stop", "-t", "25", victim], check=True, capture_output=True)
    print(
        f"stopped {victim[:12]} under load; docker stop took {time.monotonic() - stopped_at:.1f} s"
    )
    wait_for(
        f"HAProxy marks the stopped replica down ({len(replicas) - 1} up)",
        lambda: servers_up(stats_url) == len(replicas) - 1,
        30,
    )
    time.sleep(max(0.0, stopped_at + FAILOVER_LIMIT_S + 5 - time.monotonic()))
    wait_for(
        "the cut streams reconnect and are answered",
        lambda: (
            all(s.answered_since_reconnect >= 3 for s in streams if s.closes)
            or any(s.error for s in streams)
        ),
        60,
    )
    done.set()
    for t in loaders:
        t.join(60)
    for s in streams:
        s.stop.set()
    for t in threads:
        t.join(60)

    failures = [r for r in results if not r.ok]
    window = max((r.started - stopped_at for r in failures), default=0.0)
    after = [r for r in results if r.started > stopped_at + FAILOVER_LIMIT_S]
    print(
        f"REST during failover: {len(results)} requests, {len(failures)} failed, "
        f"failover window {max(window, 0.0):.2f} s"
        + (f" (first error: {failures[0].error})" if failures else "")
    )
    check(window <= FAILOVER_LIMIT_S, f"REST failures end within {FAILOVER_LIMIT_S:.0f} s")
    check(
        len(after) >= 20 and all(r.ok for r in after),
        f"all {len(after)} REST requests after the failover window succeed",
    )
    errors = [s.error for s in streams if s.error]
    check(not errors, f"no stream failed ({errors[:1]})")
    cut = [s for s in streams if s.closes]
    codes = sorted(code for s in cut for code in s.closes if code is not None)
    print(
        f"streams cut: {len(cut)} of {STREAMS}, close codes {codes}; answers after reconnect: "
        + ", ".join(str(s.answered_since_reconnect) for s in cut)
    )
    check(
        len(cut) == held[victim] and all(len(s.closes) == 1 for s in cut),
        f"exactly the {held[victim]} streams on the stopped replica were closed, once each",
    )
    check(
        all(s.closes[0] in CLEAN_CLOSE_CODES for s in cut),
        "each was closed cleanly (1001/1012 close frame, not a dropped connection)",
    )
    check(all(s.answered_since_reconnect >= 3 for s in cut), "each reconnected and is answered")


def main() -> None:
    """Run the checks against the balancer at ``base``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("base")
    parser.add_argument("--stats", required=True, help="HAProxy stats page URL")
    parser.add_argument("replicas", nargs="+", help="container ids of the api replicas")
    args = parser.parse_args()
    base = args.base.rstrip("/")
    image = astronaut_jpeg()
    wait_for(
        f"HAProxy holds all {len(args.replicas)} replicas up",
        lambda: servers_up(args.stats) == len(args.replicas),
        60,
    )
    print(f"ok: HAProxy holds all {len(args.replicas)} replicas up")
    fair_share(base, image, args.replicas)
    failover(base, args.stats, image, args.replicas)


if __name__ == "__main__":
    main()
