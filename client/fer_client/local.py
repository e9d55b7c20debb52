"""In-process analysis: the service's own pipeline on the bundled models, no server.

Needs the service package (``pip install -e .`` at the repository root) beside the client;
it is imported on first use. Settings come from the same ``FER_*`` environment variables as the
service, overridable per analyzer.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import AsyncIterator, Iterable, Iterator
from functools import partial
from typing import TYPE_CHECKING, Any

from fer_client.errors import FerError, ServiceError, ServiceNotInstalled
from fer_client.images import ImageInput, image_bytes
from fer_client.ordered import map_in_order
from fer_client.results import (
    Box,
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


def _service() -> Any:
    try:
        from service import classifier, config, errors, pipeline, state
    except ImportError as exc:
        raise ServiceNotInstalled(
            "in-process analysis needs the service package: run `pip install -e .` at the "
            f"repository root ({exc})"
        ) from None
    return config, errors, classifier, pipeline, state


class LocalAnalyzer:
    """The detector and classifier loaded once, in this process; thread-safe.

    ``settings`` override the service's settings by name (``model_path``, ``detector``,
    ``min_face_size``, ...; see the README's configuration table, without the ``FER_``).
    Raises ServiceNotInstalled without the service package.
    """

    def __init__(self, **settings: Any) -> None:
        config, self._errors, classifier, self._pipeline, state = _service()
        self.settings = config.Settings(**settings)
        self.model = classifier.EmotionModel(self.settings.model_path, self.settings.ort_threads)
        self.detector = state.build_detector(self.settings, self.model.crop.margin)
        self.labels: tuple[str, ...] = tuple(self.model.labels)
        self.model_ref = ModelRef(name=self.model.name, version=self.model.version)

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
        s = self.settings
        limits = self._pipeline.Limits(
            max_bytes=s.max_upload_bytes,
            max_pixels=s.max_pixels,
            max_faces=max_faces or s.max_faces,
            min_face_size=min_face_size or s.min_face_size,
        )
        data = image_bytes(image)
        try:
            analysis = self._pipeline.analyze_bytes(
                data, self.detector, self.model, limits, s.align_faces
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
        workers: int = 2,
        max_faces: int | None = None,
        min_face_size: int | None = None,
    ) -> AsyncIterator[FrameResult]:
        """``analyze`` for each frame on ``workers`` threads, yielded in input order like
        ``Client.stream`` (no tracking: ``track_id`` stays None). At most ``workers + 1``
        frames are held."""
        one = partial(self.analyze, max_faces=max_faces, min_face_size=min_face_size)
        iterator = iter(frames)
        loop = asyncio.get_running_loop()
        pending: deque[asyncio.Future[Prediction]] = deque()
        exhausted = False
        index = 0
        while True:
            while not exhausted and len(pending) <= workers:
                # Read in order, one at a time; analyse concurrently.
                image = await asyncio.to_thread(next, iterator, None)
                if image is None:
                    exhausted = True
                else:
                    pending.append(loop.run_in_executor(None, one, image))
            if not pending:
                return
            try:
                prediction = await pending.popleft()
            except ServiceError as exc:
                yield FrameResult(
                    index=index,
                    status=FrameStatus.FAILED,
                    error=ErrorInfo(code=exc.code, message=exc.message),
                )
            else:
                yield FrameResult(
                    index=index,
                    status=FrameStatus.OK,
                    faces=prediction.faces,
                    image=prediction.image,
                    timings_ms=prediction.timings_ms,
                )
            index += 1

    def _prediction(self, analysis: Analysis) -> Prediction:
        # The service's route does the same (service/api/convert.py); a test pins the equality.
        faces = []
        for face in analysis.faces:
            b, probs = face.box, face.probabilities
            top = int(probs.argmax())
            faces.append(
                Face(
                    box=Box(x=b.x, y=b.y, w=b.w, h=b.h, truncated=b.truncated),
                    detector_score=face.detection.score,
                    emotion=self.labels[top],
                    confidence=round(float(probs[top]), 6),
                    scores={k: round(float(p), 6) for k, p in zip(self.labels, probs, strict=True)},
                )
            )
        return Prediction(
            faces=faces,
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
