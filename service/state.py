"""What the app holds while it runs: the engine, workers, metrics, readiness, open streams."""

from __future__ import annotations

from dataclasses import dataclass, field

from service.analyzer import Analyzer
from service.classifier import EmotionModel
from service.config import Settings
from service.detectors import FaceDetector
from service.engine import Engine
from service.metrics import ServiceMetrics
from service.workers import WorkerPool


@dataclass
class AppState:
    """Everything a request needs, created in the lifespan."""

    engine: Engine
    pool: WorkerPool
    metrics: ServiceMetrics
    ready: bool = False
    open_streams: int = 0  # changed on the event loop only
    analyzer: Analyzer = field(init=False)

    def __post_init__(self) -> None:
        self.analyzer = Analyzer(self.engine, self.pool, self.metrics)

    @property
    def settings(self) -> Settings:
        return self.engine.settings

    @property
    def model(self) -> EmotionModel:
        return self.engine.model

    @property
    def face_detector(self) -> FaceDetector:
        return self.engine.detector
