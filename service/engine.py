"""The one composition: settings -> classifier, detector and the pipeline that joins them.

The app's lifespan, the in-process client and the benchmarks all start from
``Engine.from_settings``; nothing here knows of HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from service.classifier import EmotionModel
from service.config import Settings
from service.detectors import FaceDetector, build_detector
from service.errors import ImageTooLarge, TooManyImages
from service.pipeline import Analysis, CropsAnalysis, Limits, analyze_bytes, classify_crops
from service.tracking import FaceTracker, TrackingOptions


def tracking_options(settings: Settings) -> TrackingOptions:
    """The stream tracking options the settings give (``FER_STREAM_*``)."""
    return TrackingOptions(
        half_life_ms=settings.stream_half_life_ms,
        detect_every_ms=settings.stream_detect_every_ms,
        detect_every_frames=settings.stream_detect_every_frames,
        keep_ms=settings.stream_keep_ms,
    )


@dataclass(frozen=True)
class Engine:
    """The loaded classifier and detector, and the settings they were built from; thread-safe
    (onnxruntime sessions and the Haar cascade may run on several threads at once)."""

    settings: Settings
    model: EmotionModel
    detector: FaceDetector

    @classmethod
    def from_settings(cls, settings: Settings) -> Engine:
        """Load the classifier and the detector ``settings`` name; ModelLoadError when a file
        cannot be used."""
        model = EmotionModel(settings.classifier_file(), settings.ort_threads)
        return cls(settings, model, build_detector(settings))

    def limits(
        self,
        max_faces: int | None = None,
        min_face_size: int | None = None,
        max_bytes: int | None = None,
    ) -> Limits:
        """The settings' limits, with per-request options where given."""
        return Limits(
            max_bytes=max_bytes or self.settings.max_upload_bytes,
            max_pixels=self.settings.max_pixels,
            max_faces=max_faces or self.settings.max_faces,
            min_face_size=min_face_size or self.settings.min_face_size,
        )

    def tracker(self, **options: int) -> FaceTracker:
        """A stream's face tracker: the settings' tracking options, with ``options`` applied."""
        return FaceTracker(replace(tracking_options(self.settings), **options))

    def analyze(
        self,
        data: bytes,
        limits: Limits,
        tracker: FaceTracker | None = None,
        t_ms: float = 0.0,
    ) -> Analysis:
        """``analyze_bytes`` with this engine's detector, classifier and alignment setting."""
        return analyze_bytes(
            data, self.detector, self.model, limits, self.settings.align_faces, tracker, t_ms
        )

    def classify(self, parts: list[tuple[str | None, bytes]], limits: Limits) -> CropsAnalysis:
        """``classify_crops`` with this engine's classifier: (filename, bytes) parts, each one
        face already; TooManyImages beyond ``max_crops``."""
        if len(parts) > self.settings.max_crops:
            raise TooManyImages(
                f"{len(parts)} images in one request; the limit is {self.settings.max_crops} "
                "(FER_MAX_CROPS): send the rest in another request"
            )
        if sum(len(data) for _, data in parts) > self.settings.max_upload_bytes:
            raise ImageTooLarge(
                f"the images have {sum(len(d) for _, d in parts)} bytes together; the limit is "
                f"{self.settings.max_upload_bytes} per request"
            )
        return classify_crops(parts, self.model, limits)
