"""Pure ASGI middleware for every HTTP request: refuse bodies far over the upload limit before
reading them, count requests and their latency per route and status, and answer an unexpected
exception with the error shape (500, a request id that the log line with the traceback has).

Pure ASGI (not Starlette's ``BaseHTTPMiddleware``): no extra task and no response re-wrapping
per request, and WebSocket traffic passes through untouched.
"""

from __future__ import annotations

import logging
import time
import uuid

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.errors import error_body
from service.metrics import ServiceMetrics

logger = logging.getLogger("service")
REQUEST_ID_HEADER = "X-Request-ID"

# Multipart framing around the image: a request this much over the image limit is refused unread.
MULTIPART_OVERHEAD = 64 * 1024


class LimitAndCount:
    """413 for a ``Content-Length`` over ``max_upload_bytes`` + framing; metrics for all."""

    def __init__(self, app: ASGIApp, max_upload_bytes: int, metrics: ServiceMetrics) -> None:
        self.app, self.max_upload_bytes, self.metrics = app, max_upload_bytes, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app fails before it starts a response

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        length = dict(scope["headers"]).get(b"content-length", b"").decode("latin-1")
        try:
            if length.isdigit() and int(length) > self.max_upload_bytes + MULTIPART_OVERHEAD:
                refusal = JSONResponse(
                    error_body(
                        "payload_too_large",
                        f"the request has {length} bytes; the limit is {self.max_upload_bytes}",
                    ),
                    413,
                )
                await refusal(scope, receive, send_and_note)
            else:
                await self.app(scope, receive, send_and_note)
        finally:
            route = str(getattr(scope.get("route"), "path", "unmatched"))
            self.metrics.child(self.metrics.requests, route, str(status)).inc()
            self.metrics.child(self.metrics.request_seconds, route).observe(
                time.perf_counter() - started
            )


class CatchUnexpected:
    """An exception no handler took becomes a JSON 500 with a request id, logged once with its
    traceback and that id (after a response has started, only the log line is left to do)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_and_note(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        except Exception:
            request_id = uuid.uuid4().hex
            logger.exception(
                "unexpected error, request_id=%s, %s %s",
                request_id, scope.get("method"), scope.get("path"),
            )  # fmt: skip
            if started:
                raise
            answer = JSONResponse(
                error_body(
                    "internal_error",
                    "an unexpected error; the service's log has the details under this request id",
                    request_id=request_id,
                ),
                500,
                headers={REQUEST_ID_HEADER: request_id},
            )
            await answer(scope, receive, send)
