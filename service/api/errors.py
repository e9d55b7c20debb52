"""The one mapping from domain errors to HTTP: status, headers and the error body.

Every error leaves the service as ``{"error": {"code": ..., "message": ...}}``; REST answers use
the status below, the stream sends the same code and message in an ``error`` message.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.errors import (
    DetectionFailed,
    EmptyImage,
    ImageTooLarge,
    NotReady,
    ServerBusy,
    ServiceError,
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


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    """The JSON body of every error."""
    return {"error": {"code": code, "message": message}}


def error_response(exc: ServiceError) -> JSONResponse:
    """The HTTP answer to a domain error (422 for a kind not in HTTP_STATUS)."""
    kind = type(exc)
    return JSONResponse(
        error_body(exc.code, exc.message),
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
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        return JSONResponse(error_body("invalid_request", problems), 422)
