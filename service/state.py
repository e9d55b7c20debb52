"""What the app holds while it runs: settings, model, detector, workers, metrics, readiness."""

from __future__ import annotations

from dataclasses import dataclass, field

from service.analyzer import Analyzer
from service.blazeface import BlazeFaceDetector
from service.classifier import EmotionModel
from service.config import Settings
from service.faces import FaceDetector, HaarDetector
from service.metrics import ServiceMetrics
from service.tracking import TrackingOptions
from service.workers import WorkerPool
from service.yunet import YuNetDetector


@dataclass
class AppState:
    """Everything a request needs, created in the lifespan."""

    settings: Settings
    model: EmotionModel
    face_detector: FaceDetector
    pool: WorkerPool
    metrics: ServiceMetrics
    ready: bool = False
    open_streams: int = 0  # changed on the event loop only
    analyzer: Analyzer = field(init=False)

    def __post_init__(self) -> None:
        self.analyzer = Analyzer(
            self.settings, self.model, self.face_detector, self.pool, self.metrics
        )


def tracking_options(settings: Settings) -> TrackingOptions:
    """The stream tracking options the settings give (``FER_STREAM_*``)."""
    return TrackingOptions(
        half_life_ms=settings.stream_half_life_ms,
        detect_every_ms=settings.stream_detect_every_ms,
        detect_every_frames=settings.stream_detect_every_frames,
        keep_ms=settings.stream_keep_ms,
    )


def build_face_detector(settings: Settings, crop_margin: float) -> FaceDetector:
    """The detector the settings name; ``crop_margin`` is the classifier's, for Haar boxes."""
    if settings.detector in ("yunet", "blazeface"):
        dnn = YuNetDetector if settings.detector == "yunet" else BlazeFaceDetector
        return dnn(
            settings.detector_file(),
            threads=settings.ort_threads,
            min_score=settings.detector_min_score,
            input_side=settings.detector_input_side,
        )
    return HaarDetector(
        max_side=settings.detector_max_side,
        scale_factor=settings.detector_scale_factor,
        min_neighbors=settings.detector_min_neighbors,
        crop_margin=crop_margin,
    )
