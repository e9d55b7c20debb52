"""``Client``: the service's REST API (``predict``, ``predict_many``, ``classify``) and its
WebSocket stream."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Literal, overload

import httpx

from fer_client.errors import ConnectionFailed, FerError, ServiceError
from fer_client.images import ImageInput, image_bytes, image_name, media_type
from fer_client.ordered import map_in_order
from fer_client.results import Classification, FrameResult, Prediction
from fer_client.streaming import FrameInput, stream_frames
from fer_client.sync_iter import iterate

DEFAULT_URL = "http://127.0.0.1:8000"
API_KEY_HEADER = "X-API-Key"


class Client:
    """A connection to a FER service at ``url`` (``api_key`` when the service asks for one).

    ``retries``: how many times a 503 (busy, warming up) is retried, after the ``Retry-After``
    the service sends (capped at ``max_retry_wait`` seconds). ``timeout`` is per request, in
    seconds. Thread-safe; use as a context manager or call ``close()``.
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        retries: int = 3,
        max_retry_wait: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.retries = retries
        self.max_retry_wait = max_retry_wait
        headers = {API_KEY_HEADER: api_key} if api_key else {}
        self._http = httpx.Client(
            base_url=self.url, headers=headers, timeout=timeout, transport=transport
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()

    def predict(
        self,
        image: ImageInput,
        *,
        max_faces: int | None = None,
        min_face_size: int | None = None,
    ) -> Prediction:
        """Every face in ``image`` (a path, encoded bytes or a BGR uint8 array), largest first.

        Raises ServiceError (the service's error, e.g. 415 for a GIF), ConnectionFailed and
        InputError.
        """
        data = image_bytes(image)
        name = Path(image).name if isinstance(image, str | Path) else "image"
        response = self._request(
            "POST",
            "/v1/predict",
            files={"file": (name, data, media_type(data))},
            params=_limits(max_faces, min_face_size),
        )
        return Prediction.model_validate_json(response.content)

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
        concurrency: int = 4,
        return_exceptions: bool = False,
        max_faces: int | None = None,
        min_face_size: int | None = None,
    ) -> Iterator[Prediction] | Iterator[Prediction | FerError]:
        """``predict`` for each image, ``concurrency`` requests at a time, in input order.

        Lazy: images are read as they are sent, a few ahead. With ``return_exceptions`` a
        failed image yields its FerError in its place; otherwise the first failure is raised.
        """

        def one(image: ImageInput) -> Prediction:
            return self.predict(image, max_faces=max_faces, min_face_size=min_face_size)

        return map_in_order(one, images, concurrency, return_exceptions)

    def classify(self, images: Sequence[ImageInput]) -> Classification:
        """The emotions of already-cropped faces (``POST /v1/classify``): each image is one face,
        used whole (no detection); one request, one model batch, answers in input order.

        The service takes up to ``FER_MAX_CROPS`` (64 by default) per call. One unusable image
        refuses the call: ServiceError with ``index`` naming it (415 for a GIF, ...), also
        ConnectionFailed and InputError.
        """
        files = []
        for index, image in enumerate(images):
            data = image_bytes(image)
            files.append(("file", (image_name(image, index), data, media_type(data))))
        response = self._request("POST", "/v1/classify", files=files)
        return Classification.model_validate_json(response.content)

    def labels(self) -> list[str]:
        """The model's emotion labels, in its output order (``GET /v1/model``)."""
        return list(self.model_info()["labels"])

    def model_info(self) -> dict[str, Any]:
        """``GET /v1/model``: labels, crop geometry, version, detector."""
        info: dict[str, Any] = self._request("GET", "/v1/model").json()
        return info

    def stream_sync(self, frames: FrameInput, **options: Any) -> Iterator[FrameResult]:
        """``stream`` for synchronous code: the same results, the same keyword arguments, as
        a plain iterator (``for result in client.stream_sync(frames): ...``)."""
        return iterate(self.stream(frames, **options))

    def stream(
        self,
        frames: FrameInput,
        *,
        in_flight: int = 2,
        all_frames: bool = False,
        max_faces: int | None = None,
        min_face_size: int | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[FrameResult]:
        """Results for ``frames`` over ``WS /v1/stream``, one per frame, in input order.

        ``frames``: an iterable or async iterable of images (arrays are sent as JPEG). A sync
        iterable is read in a worker thread, one frame at a time, only when a frame may be
        sent, so a live source always gives its newest frame.

        ``in_flight``: frames sent and not yet answered. The server works on one frame per
        stream and keeps one waiting; a newer frame replaces the waiting one (latest frame
        wins), so 2 keeps the server busy without drops and 1 gives the lowest latency. A
        replaced frame is yielded with status ``dropped``, or sent again when ``all_frames``.

        ``options``: stream options sent as one JSON text message before the first frame
        (e.g. tracking/smoothing settings of servers that offer them); ``max_faces`` and
        ``min_face_size`` go in the URL.

        Raises StreamClosed when the service closes the stream (1013, busy or warming up, is
        retried ``retries`` times before the first answer), ConnectionFailed, InputError.
        """
        return stream_frames(
            self.url,
            frames,
            api_key=self.api_key,
            in_flight=in_flight,
            all_frames=all_frames,
            query=_limits(max_faces, min_face_size),
            options=dict(options or {}),
            retries=self.retries,
            open_timeout=self.timeout,
        )

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        for attempt in range(self.retries + 1):
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TimeoutException:
                raise ConnectionFailed(
                    f"{self.url} did not answer within {self.timeout:g} s"
                ) from None
            except httpx.TransportError as exc:
                raise ConnectionFailed(f"cannot reach the service at {self.url}: {exc}") from None
            if response.status_code == 503 and attempt < self.retries:
                time.sleep(retry_after(response, self.max_retry_wait))
                continue
            if response.is_success:
                return response
            raise error_of(response)
        raise AssertionError("unreachable")


def _limits(max_faces: int | None, min_face_size: int | None) -> dict[str, int]:
    given = {"max_faces": max_faces, "min_face_size": min_face_size}
    return {k: v for k, v in given.items() if v is not None}


def retry_after(response: httpx.Response, cap: float) -> float:
    """Seconds the ``Retry-After`` header asks for (seconds or an HTTP date; 1 when absent),
    at most ``cap``."""
    value = response.headers.get("Retry-After", "1").strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            seconds = 1.0
    return min(max(seconds, 0.0), cap)


def error_of(response: httpx.Response) -> ServiceError:
    """The ServiceError for an error response (the service's shape, or the bare status)."""
    try:
        error = response.json()["error"]
        index, request_id = error.get("index"), error.get("request_id")
        return ServiceError(
            str(error["message"]),
            str(error["code"]),
            response.status_code,
            index if isinstance(index, int) else None,
            request_id if isinstance(request_id, str) else None,
        )
    except (ValueError, KeyError, TypeError):
        reason = response.reason_phrase or "error"
        text = response.text.strip().splitlines()[0][:200] if response.text.strip() else reason
        return ServiceError(text, f"http_{response.status_code}", response.status_code)
