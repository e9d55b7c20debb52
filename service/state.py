"""What the app holds while it runs: settings, model, detector, workers, metrics, readiness."""

from __future__ import annotations

from dataclasses import dataclass

from service.blazeface import BlazeFaceDetector
from service.config import Settings
from service.faces import FaceDetector, HaarDetector
from service.metrics import ServiceMetrics
from service.model import EmotionModel
from service.pipeline import Limits
from service.workers import WorkerPool


@dataclass
class AppState:
    """Everything a request needs, created in the lifespan."""

    settings: Settings
    model: EmotionModel
    detector: FaceDetector
    pool: WorkerPool
    metrics: ServiceMetrics
    ready: bool = False
    open_streams: int = 0  # changed on the event loop only

    def limits(
        self,
        max_faces: int | None = None,
        min_face_size: int | None = None,
        max_bytes: int | None = None,
    ) -> Limits:
        """The settings' limits, with per-request options where given."""
        s = self.settings
        return Limits(
            max_bytes=max_bytes or s.max_upload_bytes,
            max_pixels=s.max_pixels,
            max_faces=max_faces or s.max_faces,
            min_face_size=min_face_size or s.min_face_size,
        )


def build_detector(settings: Settings, crop_margin: float) -> FaceDetector:
    """The detector the settings name; ``crop_margin`` is the classifier's, for Haar boxes."""
    if settings.detector == "blazeface":
        return BlazeFaceDetector(
            settings.detector_model_path,
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
