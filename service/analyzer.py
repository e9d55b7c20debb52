"""The one way into the pipeline for REST and streams: worker pool, metrics, limits."""

from __future__ import annotations

from dataclasses import dataclass

from service.engine import Engine
from service.metrics import ServiceMetrics
from service.pipeline import Analysis, CropsAnalysis, Limits
from service.tracking import FaceTracker
from service.workers import WorkerPool


@dataclass
class Analyzer:
    """Runs ``Engine.analyze`` off the event loop and records its timings and face counts."""

    engine: Engine
    pool: WorkerPool
    metrics: ServiceMetrics

    def limits(
        self,
        max_faces: int | None = None,
        min_face_size: int | None = None,
        max_bytes: int | None = None,
    ) -> Limits:
        """The settings' limits, with per-request options where given."""
        return self.engine.limits(max_faces, min_face_size, max_bytes)

    async def image(self, data: bytes, limits: Limits) -> Analysis:
        """One uploaded image; raises ServerBusy at once when every worker and queue place is
        taken (a request/response client should retry, not wait)."""
        analysis = await self.pool.run_or_reject(self.engine.analyze, data, limits)
        self._record(analysis)
        return analysis

    async def frame(
        self, data: bytes, limits: Limits, tracker: FaceTracker, t_ms: float
    ) -> Analysis:
        """One stream frame at frame time ``t_ms``; waits for a worker (the stream already
        holds at most one pending frame)."""
        analysis = await self.pool.run(self.engine.analyze, data, limits, tracker, t_ms)
        self._record(analysis)
        return analysis

    async def crops(self, parts: list[tuple[str | None, bytes]], limits: Limits) -> CropsAnalysis:
        """Already-cropped faces, (filename, bytes) each, in one batch on one worker; raises
        ServerBusy at once when saturated, like ``image``."""
        analysis = await self.pool.run_or_reject(self.engine.classify, parts, limits)
        self.metrics.observe_timings(analysis.timings_ms, None)
        self.metrics.crops.inc(len(analysis.sizes))
        return analysis

    def _record(self, analysis: Analysis) -> None:
        self.metrics.observe_timings(analysis.timings_ms, len(analysis.faces))
