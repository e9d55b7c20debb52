"""Prometheus metrics of one app instance (its own registry, so apps in one process never mix)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

STAGE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class ServiceMetrics:
    """Requests, stage latencies, faces per image, streams and dropped frames."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "fer_http_requests",
            "HTTP requests by route template and status code",
            ["route", "status"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "fer_http_request_seconds",
            "HTTP request latency by route template",
            ["route"],
            buckets=STAGE_BUCKETS,
            registry=self.registry,
        )
        self.stage_seconds = Histogram(
            "fer_stage_seconds",
            "Time spent per pipeline stage (decode, detect, classify, total)",
            ["stage"],
            buckets=STAGE_BUCKETS,
            registry=self.registry,
        )
        self.faces_per_image = Histogram(
            "fer_faces_per_image",
            "Faces found per processed image or frame",
            buckets=(0, 1, 2, 3, 5, 10, 20, 50),
            registry=self.registry,
        )
        self.crops = Counter(
            "fer_crops_classified",
            "Already-cropped faces classified (POST /v1/classify)",
            registry=self.registry,
        )
        self.open_streams = Gauge(
            "fer_open_streams", "WebSocket streams open now", registry=self.registry
        )
        self.stream_frames = Counter(
            "fer_stream_frames",
            "Stream frames by outcome (received, processed, dropped, failed)",
            ["outcome"],
            registry=self.registry,
        )

        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}

    def child(self, metric: Counter | Histogram, *labels: str) -> Any:
        """``metric.labels(*labels)``, bound once and reused (labels() validates and locks on
        every call; this runs several times per request)."""
        key = (id(metric), labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found

    def observe_timings(self, timings_ms: dict[str, float], faces: int | None) -> None:
        """Record one processed image's (or crop batch's) stage timings and its face count
        (None: faces were not searched for)."""
        for stage, ms in timings_ms.items():
            self.child(self.stage_seconds, stage).observe(ms / 1000)
        if faces is not None:
            self.faces_per_image.observe(faces)
