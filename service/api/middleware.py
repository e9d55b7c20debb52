"""One pure ASGI middleware for every HTTP request: refuse bodies far over the upload limit
before reading them, and count requests and their latency per route and status.

Pure ASGI (not Starlette's ``BaseHTTPMiddleware``): no extra task and no response re-wrapping
per request, and WebSocket traffic passes through untouched.
"""

from __future__ import annotations

import time

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.errors import error_body
from service.metrics import ServiceMetrics

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
