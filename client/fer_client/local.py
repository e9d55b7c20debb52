"""In-process analysis: the service's own pipeline on the bundled models, no server.

Needs the service package (``pip install -e .`` at the repository root) beside the client;
it is imported on first use. Settings come from the same ``FER_*`` environment variables as the
service, overridable per analyzer.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import replace
from functools import partial
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from fer_client.errors import FerError, ServiceError, ServiceNotInstalled
from fer_client.images import ImageInput, image_bytes
from fer_client.ordered import map_in_order
from fer_client.results import (
    ErrorInfo,
    Face,
    FrameResult,
    FrameStatus,
    ImageSize,
    ModelRef,
    Prediction,
)

if TYPE_CHECKING:
    from service.pipeline import Analysis


def _service() -> SimpleNamespace:
    """The service's modules the in-process path uses (imported on first use)."""
    try:
        from service import classifier, config, errors, pipeline, state, tracking
        from service.api import responses
    except ImportError as exc:
        raise ServiceNotInstalled(
            "in-process analysis needs the service package: run `pip install -e .` at the "
            f"repository root ({exc})"
        ) from None
    return SimpleNamespace(
        classifier=classifier, config=config, errors=errors, pipeline=pipeline, state=state,
        tracking=tracking, responses=responses,
    )  # fmt: skip


class LocalAnalyzer:
    """The detector and classifier loaded once, in this process; thread-safe.

    ``settings`` override the service's settings by name (``model_path``, ``detector``,
    ``min_face_size``, ...; see the README's configuration table, without the ``FER_``).
    Raises ServiceNotInstalled without the service package.
    """

    def __init__(self, **settings: Any) -> None:
        self._service = _service()
        self._errors, self._pipeline = self._service.errors, self._service.pipeline
        self.settings = self._service.config.Settings(**settings)
        self.model = self._service.classifier.EmotionModel(
            self.settings.classifier_file(), self.settings.ort_threads
        )
        self.face_detector = self._service.state.build_face_detector(
            self.settings, self.model.crop.margin
        )
        self.labels: tuple[str, ...] = tuple(self.model.labels)
        self.model_ref = ModelRef(name=self.model.name, version=self.model.version)

    def _limits(self, max_faces: int | None, min_face_size: int | None) -> Any:
        return self._pipeline.Limits.from_settings(self.settings, max_faces, min_face_size)

    def analyze(
        self,
        image: ImageInput,
        *,
        max_faces: int | None = None,
        min_face_size: int | None = None,
    ) -> Prediction:
        """Every face of ``image`` (path, encoded bytes or BGR uint8 array), largest first,
        exactly as ``POST /v1/predict`` answers for the same bytes.

        Raises ServiceError (code as the service's: ``unsupported_media_type``, ...), InputError.
        """
        limits = self._limits(max_faces, min_face_size)
        data = image_bytes(image)
        try:
            analysis = self._pipeline.analyze_bytes(
                data, self.face_detector, self.model, limits, self.settings.align_faces
            )
        except self._errors.ServiceError as exc:
            raise ServiceError(exc.code, exc.message) from None
        return self._prediction(analysis)

    def analyze_many(
        self,
        images: Iterable[ImageInput],
        *,
        workers: int = 2,
        return_exceptions: bool = False,
        max_faces: int | None = None,
        min_face_size: int | None = None,
    ) -> Iterator[Prediction | FerError]:
        """``analyze`` for each image on ``workers`` threads, in input order; like
        ``Client.predict_many`` (a FerError in a failed image's place with
        ``return_exceptions``)."""
        one = partial(self.analyze, max_faces=max_faces, min_face_size=min_face_size)
        return map_in_order(one, images, workers, return_exceptions)

    async def stream(
        self,
        frames: Iterable[ImageInput],
        *,
        max_faces: int | None = None,
        min_face_size: int | None = None,
        options: dict[str, Any] | None = None,
        fps: float | None = None,
    ) -> AsyncIterator[FrameResult]:
        """Each frame through the pipeline with one face tracker, like ``Client.stream``: the
        same track ids, smoothed ``scores`` and ``raw_scores`` as the service's stream.

        ``options`` are the stream's tracking options (``half_life_ms``, ``detect_every_ms``,
        ...; defaults from the settings). Frame time is ``index * 1000 / fps`` with ``fps``
        (a video file), else the time the frame was read. Frames are analysed one at a time,
        the next one read meanwhile; at most two are held.
        """
        tracking = self._service.state.tracking_options(self.settings)
        tracker = self._service.tracking.FaceTracker(replace(tracking, **(options or {})))
        limits = self._limits(max_faces, min_face_size)
        iterator = iter(frames)
        started = time.monotonic()
        image = await asyncio.to_thread(next, iterator, None)
        index = 0
        while image is not None:
            t_ms = index * 1000 / fps if fps else (time.monotonic() - started) * 1000
            work = asyncio.to_thread(self._frame, image, limits, tracker, t_ms)
            result, image = await asyncio.gather(work, asyncio.to_thread(next, iterator, None))
            yield result.model_copy(update={"index": index})
            index += 1

    def _frame(self, image: ImageInput, limits: Any, tracker: Any, t_ms: float) -> FrameResult:
        try:
            analysis = self._pipeline.analyze_bytes(
                image_bytes(image), self.face_detector, self.model, limits,
                self.settings.align_faces, tracker, t_ms,
            )  # fmt: skip
        except self._errors.ServiceError as exc:
            return FrameResult(
                index=0,
                status=FrameStatus.FAILED,
                error=ErrorInfo(code=exc.code, message=exc.message),
            )
        faces = self._service.responses.stream_faces_of(analysis, self.labels)
        return FrameResult(
            index=0,
            status=FrameStatus.OK,
            faces=[Face.model_validate(f.model_dump()) for f in faces],
            image=ImageSize(width=analysis.width, height=analysis.height),
            timings_ms=analysis.timings_ms,
        )

    def _prediction(self, analysis: Analysis) -> Prediction:
        faces = self._service.responses.faces_of(analysis, self.labels)
        return Prediction(
            faces=[Face.model_validate(f.model_dump()) for f in faces],
            image=ImageSize(width=analysis.width, height=analysis.height),
            model=self.model_ref,
            timings_ms=analysis.timings_ms,
        )


_default: LocalAnalyzer | None = None
_default_lock = threading.Lock()


def default_analyzer() -> LocalAnalyzer:
    """The process's analyzer with the environment's settings, loaded on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = LocalAnalyzer()
        return _default


def analyze(
    image: ImageInput, *, max_faces: int | None = None, min_face_size: int | None = None
) -> Prediction:
    """Every face of ``image`` with its emotions, in this process, on the bundled models.

    The same Prediction as ``Client.predict`` for the same bytes. The first call loads the
    models (about a second). Raises ServiceNotInstalled, ServiceError, InputError.
    """
    return default_analyzer().analyze(image, max_faces=max_faces, min_face_size=min_face_size)
