"""The one mapping from domain errors to HTTP: status, headers and the error body.

Every error leaves the service as ``{"error": {"code": ..., "message": ...}}``; REST answers use
the status below, the stream sends the same code and message in an ``error`` message.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.errors import (
    DetectionFailed,
    EmptyImage,
    ImageTooLarge,
    MultiPageImage,
    NotReady,
    ServerBusy,
    ServiceError,
    TooManyImages,
    Unauthorized,
    UndecodableImage,
    UnsupportedImage,
)

RETRY_SOON = {"Retry-After": "1"}
HTTP_STATUS: dict[type[ServiceError], int] = {
    EmptyImage: 422,
    ImageTooLarge: 413,
    UnsupportedImage: 415,
    UndecodableImage: 422,
    MultiPageImage: 422,
    TooManyImages: 413,
    DetectionFailed: 422,
    Unauthorized: 401,
    ServerBusy: 503,
    NotReady: 503,
}
HTTP_HEADERS: dict[type[ServiceError], dict[str, str]] = {
    ServerBusy: RETRY_SOON,
    NotReady: RETRY_SOON,
}
# WebSocket close codes (RFC 6455) for refusals before a stream starts.
WS_CLOSE: dict[type[ServiceError], int] = {Unauthorized: 1008, NotReady: 1013, ServerBusy: 1013}
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
    503: "unavailable",
}


def error_body(code: str, message: str, **extra: object) -> dict[str, dict[str, object]]:
    """The JSON body of every error (``extra``: fields such as ``index``, ``request_id``)."""
    given = {k: v for k, v in extra.items() if v is not None}
    return {"error": {"code": code, "message": message, **given}}


def error_response(exc: ServiceError) -> JSONResponse:
    """The HTTP answer to a domain error (422 for a kind not in HTTP_STATUS)."""
    kind = type(exc)
    return JSONResponse(
        error_body(exc.code, exc.message, index=exc.index, filename=exc.filename),
        HTTP_STATUS.get(kind, 422),
        headers=HTTP_HEADERS.get(kind),
    )


def ws_close_code(exc: ServiceError) -> int:
    """The WebSocket close code for a domain error (1008, policy violation, by default)."""
    return WS_CLOSE.get(type(exc), 1008)


def install_error_handlers(app: FastAPI) -> None:
    """Turn domain, HTTP and validation errors into the project's error shape."""

    @app.exception_handler(ServiceError)
    async def _service_error(_: Request, exc: ServiceError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return JSONResponse(error_body(code, str(exc.detail)), exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        problems = "; ".join(_problem(e) for e in errors)
        return JSONResponse(error_body("invalid_request", problems, index=_part_index(errors)), 422)


def _part_index(errors: list[Any]) -> int | None:
    """The file part (``body.file.N``) the first problem is about, as the other per-part errors
    of a multi-part request name it; None when it is not about one part."""
    loc = tuple(errors[0]["loc"]) if errors else ()
    if len(loc) >= 3 and loc[:2] == ("body", "file") and isinstance(loc[2], int):
        return loc[2]
    return None


def _problem(error: Any) -> str:
    """One validation problem as ``where: what``; a form field that should be a file upload but
    came as plain text (a part without a filename) says what to send instead."""
    where = ".".join(str(p) for p in error["loc"])
    if error["loc"][:1] == ("body",) and "Expected UploadFile" in str(error["msg"]):
        field = error["loc"][1] if len(error["loc"]) > 1 else "file"
        return (
            f"{where}: the {field!r} field must be a file upload with a filename: send it as "
            f'Content-Disposition: form-data; name="{field}"; filename="face.jpg" (a plain '
            "filename=, not only RFC 2231's filename*=)"
        )
    return f"{where}: {error['msg']}"
