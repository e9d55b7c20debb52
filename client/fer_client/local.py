"""In-process analysis: the service's own engine on the bundled models, no server.

``LocalAnalyzer`` has ``Client``'s methods (``predict``, ``predict_many``, ``classify``,
``stream``, ``labels``, ``model_info``, ``close``), so code written for one runs on the
other. Needs the service package (``pip install -e .`` at the repository root) beside the
client; it is imported on first use. Settings come from the same ``FER_*`` environment
variables as the service, overridable per analyzer.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from functools import partial
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Literal, overload

from fer_client.errors import FerError, ServiceError, ServiceNotInstalled
from fer_client.images import ImageInput, image_bytes, image_name
from fer_client.ordered import map_in_order
from fer_client.results import (
    Classification,
    CropResult,
    ErrorInfo,
    Face,
    FrameResult,
    FrameStatus,
    ImageSize,
    ModelRef,
    Prediction,
)
from fer_client.sync_iter import iterate

if TYPE_CHECKING:
    from service.engine import Engine
    from service.pipeline import Analysis, Limits
    from service.tracking import FaceTracker


def _service() -> SimpleNamespace:
    """The service's modules the in-process path uses (imported on first use)."""
    try:
        from service import config, engine, errors, responses
    except ImportError as exc:
        raise ServiceNotInstalled(
            "in-process analysis needs the service package: run `pip install -e .` at the "
            f"repository root ({exc})"
        ) from None
    return SimpleNamespace(config=config, engine=engine, errors=errors, responses=responses)


class LocalAnalyzer:
    """The detector and classifier loaded once, in this process; thread-safe.

    ``settings`` override the service's settings by name (``model_path``, ``detector``,
    ``min_face_size``, ...; see the README's configuration table, without the ``FER_``).
    Raises ServiceNotInstalled without the service package.
    """

    def __init__(self, **settings: Any) -> None:
        self._service = _service()
        self._errors = self._service.errors
        self.engine: Engine = self._service.engine.Engine.from_settings(
            self._service.config.Settings(**settings)
        )
        self.settings = self.engine.settings
        model = self.engine.model
        self._labels: tuple[str, ...] = tuple(model.labels)
        self.model_ref = ModelRef(name=model.name, version=model.version)

    def __enter__(self) -> LocalAnalyzer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Nothing to release (``Client.close`` closes connections)."""

    def labels(self) -> list[str]:
        """The model's emotion labels, in its output order."""
        return list(self._labels)

    def model_info(self) -> dict[str, Any]:
        """What ``GET /v1/model`` answers: labels, crop geometry, version, detector."""
        model = self.engine.model
        return {
            "name": model.name,
            "version": model.version,
            "labels": list(model.labels),
            "crop": {"size": model.crop.size, "channels": model.crop.channels,
                     "margin": model.crop.margin},
            "detector": self.engine.detector.name,
            "align_faces": self.settings.align_faces,
            "metadata": model.metadata,
        }  # fmt: skip

    def predict(
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
        limits = self.engine.limits(max_faces, min_face_size)
        data = image_bytes(image)
        try:
            analysis = self.engine.analyze(data, limits)
        except self._errors.ServiceError as exc:
            raise ServiceError(exc.message, exc.code) from None
        return self._prediction(analysis)

    @overload
    def predict_many(
        self,
        images: Iterable[ImageInput],
        *,
        concurrency: int = ...,
        return_exceptions: Literal[False] = ...,
        max_faces: int | None = ...,
        min_face_size: int | None = ...,
    ) -> Iterator[Prediction]: ...

    @overload
    def predict_many(
        self,
        images: Iterable[ImageInput],
        *,
        concurrency: int = ...,
        return_exceptions: Literal[True],
        max_faces: int | None = ...,
        min_face_size: int | None = ...,
    ) -> Iterator[Prediction | FerError]: ...

    def predict_many(
        self,
        images: Iterable[ImageInput],
        *,
        concurrency: int = 2,
        return_exceptions: bool = False,
        max_faces: int | None = None,
        min_face_size: int | None = None,
    ) -> Iterator[Prediction] | Iterator[Prediction | FerError]:
        """``predict`` for each image on ``concurrency`` threads, in input order; like
        ``Client.predict_many`` (a FerError in a failed image's place with
        ``return_exceptions``)."""
        one = partial(self.predict, max_faces=max_faces, min_face_size=min_face_size)
        return map_in_order(one, images, concurrency, return_exceptions)

    def classify(self, images: Sequence[ImageInput]) -> Classification:
        """The emotions of already-cropped faces, each image one face used whole, in one batch:
        what ``POST /v1/classify`` answers for the same bytes (and the same limits).

        Raises ServiceError (with ``index`` naming the image it is about), InputError.
        """
        parts: list[tuple[str | None, bytes]] = [
            (image_name(image, i), image_bytes(image)) for i, image in enumerate(images)
        ]
        try:
            analysis = self.engine.classify(parts, self.engine.limits())
        except self._errors.ServiceError as exc:
            raise ServiceError(exc.message, exc.code, index=exc.index) from None
        crops = self._service.responses.crops_of(
            analysis, [name for name, _ in parts], self._labels
        )
        return Classification(
            crops=[CropResult.model_validate(c.model_dump()) for c in crops],
            model=self.model_ref,
            timings_ms=analysis.timings_ms,
        )

    def stream_sync(self, frames: Iterable[ImageInput], **options: Any) -> Iterator[FrameResult]:
        """``stream`` for synchronous code, as ``Client.stream_sync``."""
        return iterate(self.stream(frames, **options))

    def stream(
        self,
        frames: Iterable[ImageInput],
        *,
        in_flight: int = 2,
        all_frames: bool = False,
        max_faces: int | None = None,
        min_face_size: int | None = None,
        options: Mapping[str, Any] | None = None,
        fps: float | None = None,
    ) -> AsyncIterator[FrameResult]:
        """Each frame through the pipeline with one face tracker, like ``Client.stream``: the
        same track ids, smoothed ``scores`` and ``raw_scores`` as the service's stream.

        Every frame is analysed in turn, so none is dropped: ``in_flight`` and ``all_frames``
        are taken for ``Client.stream``'s sake and change nothing. ``options`` are the stream's
        tracking options (``half_life_ms``, ``detect_every_ms``, ...; defaults from the
        settings). Frame time is ``index * 1000 / fps`` with ``fps`` (a video file), else the
        time the frame was read. The next frame is read while one is analysed; at most two are
        held.
        """
        if in_flight < 1:
            raise ValueError(f"in_flight must be at least 1; got {in_flight}")
        tracker = self.engine.tracker(**dict(options or {}))
        limits = self.engine.limits(max_faces, min_face_size)
        return self._stream(iter(frames), tracker, limits, fps)

    async def _stream(
        self, frames: Iterator[ImageInput], tracker: FaceTracker, limits: Limits, fps: float | None
    ) -> AsyncIterator[FrameResult]:
        started = time.monotonic()
        image = await asyncio.to_thread(next, frames, None)
        index = 0
        while image is not None:
            t_ms = index * 1000 / fps if fps else (time.monotonic() - started) * 1000
            work = asyncio.to_thread(self._frame, image, limits, tracker, t_ms)
            result, image = await asyncio.gather(work, asyncio.to_thread(next, frames, None))
            yield result.model_copy(update={"index": index})
            index += 1

    def _frame(
        self, image: ImageInput, limits: Limits, tracker: FaceTracker, t_ms: float
    ) -> FrameResult:
        try:
            analysis = self.engine.analyze(image_bytes(image), limits, tracker, t_ms)
        except self._errors.ServiceError as exc:
            return FrameResult(
                index=0,
                status=FrameStatus.FAILED,
                error=ErrorInfo(code=exc.code, message=exc.message),
            )
        faces = self._service.responses.stream_faces_of(analysis, self._labels)
        return FrameResult(
            index=0,
            status=FrameStatus.OK,
            faces=[Face.model_validate(f.model_dump()) for f in faces],
            image=ImageSize(width=analysis.width, height=analysis.height),
            timings_ms=analysis.timings_ms,
        )

    def _prediction(self, analysis: Analysis) -> Prediction:
        faces = self._service.responses.faces_of(analysis, self._labels)
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
    return default_analyzer().predict(image, max_faces=max_faces, min_face_size=min_face_size)
