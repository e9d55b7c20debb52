"""One WebSocket stream: receive frames, process the latest, report every frame dropped.

Protocol (documented in openapi/websocket.md):
- binary message: one encoded frame (JPEG, PNG, WebP or BMP);
- text message: JSON, ``{"seq": n}`` tags the next frame, ``{"max_faces": n, "min_face_size": n}``
  changes options (both may be combined in one message);
- the server answers every processed frame with a ``result`` message and every frame that fails
  to decode with an ``error`` message; frames replaced by a newer one before processing are
  counted in ``dropped``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anyio
from starlette.websockets import WebSocket, WebSocketDisconnect

from service.api.convert import faces_of, image_of
from service.errors import ServiceError
from service.pipeline import analyze_bytes
from service.schemas import ErrorDetail, StreamError, StreamResult
from service.state import AppState

CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_UNSUPPORTED = 1003
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_TRY_LATER = 1013
OPTION_BOUNDS = {"max_faces": (1, 100), "min_face_size": (8, 4096)}
CLOSE_TIMEOUT_S = 2.0
MAX_CONTROL_BYTES = 4096


class ProtocolViolation(Exception):
    """The client broke the protocol; the stream closes with ``code`` and ``reason``."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass
class Frame:
    """A frame waiting to be processed."""

    seq: int
    data: bytes


class StreamSession:
    """State of one open stream: options, counters and the single pending frame."""

    def __init__(self, websocket: WebSocket, state: AppState, options: dict[str, int]) -> None:
        self.ws = websocket
        self.state = state
        self.options = options
        self.received = 0
        self.processed = 0
        self.failed = 0
        self.dropped = 0
        self.next_seq: int | None = None
        self.pending: Frame | None = None
        self.wakeup = asyncio.Event()
        self.arrivals: deque[float] = deque()

    async def run(self) -> None:
        """Receive and process until the client leaves, breaks the protocol or stops reading."""
        violation: ProtocolViolation | None = None

        async def until_done(loop: Callable[[], Awaitable[None]]) -> None:
            nonlocal violation
            try:
                await loop()
            except ProtocolViolation as broken:
                violation = violation or broken
            except WebSocketDisconnect:
                pass
            tasks.cancel_scope.cancel()  # either loop ending ends the stream

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(until_done, self._receive_loop)
            tasks.start_soon(until_done, self._process_loop)
        if violation is not None:
            await self._close(violation.code, violation.reason)

    async def _close(self, code: int, reason: str) -> None:
        # A client that stops reading cannot take a close frame either: do not wait on it.
        with anyio.move_on_after(CLOSE_TIMEOUT_S):
            try:
                await self.ws.close(code, reason)
            except (RuntimeError, OSError, WebSocketDisconnect):
                pass  # already gone

    async def _send(self, text: str) -> None:
        try:
            with anyio.fail_after(self.state.settings.stream_send_timeout_s):
                await self.ws.send_text(text)
        except TimeoutError:
            raise ProtocolViolation(
                CLOSE_POLICY, "results are not being read; the stream is closed"
            ) from None

    async def _receive_loop(self) -> None:
        settings = self.state.settings
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            self._check_rate(settings.stream_max_messages_per_second)
            data, text = message.get("bytes"), message.get("text")
            if data is not None:
                if len(data) > settings.stream_max_message_bytes:
                    raise ProtocolViolation(
                        CLOSE_TOO_BIG,
                        f"frame of {len(data)} bytes; limit {settings.stream_max_message_bytes}",
                    )
                self._accept_frame(data)
            elif text is not None:
                if len(text) > MAX_CONTROL_BYTES:
                    # Almost always a frame sent as text (base64): say how to send frames.
                    raise ProtocolViolation(
                        CLOSE_UNSUPPORTED,
                        f"text messages must be JSON of at most {MAX_CONTROL_BYTES} bytes; "
                        "send frames as binary messages",
                    )
                self._apply_control(text)

    def _check_rate(self, limit: int) -> None:
        now = time.monotonic()
        self.arrivals.append(now)
        while self.arrivals and now - self.arrivals[0] > 1.0:
            self.arrivals.popleft()
        if len(self.arrivals) > limit:
            raise ProtocolViolation(CLOSE_POLICY, f"more than {limit} messages per second")

    def _accept_frame(self, data: bytes) -> None:
        self.received += 1
        self.state.metrics.stream_frames.labels("received").inc()
        seq = self.next_seq if self.next_seq is not None else self.received
        self.next_seq = None
        if self.pending is not None:  # latest frame wins; the stale one is counted
            self.dropped += 1
            self.state.metrics.stream_frames.labels("dropped").inc()
        self.pending = Frame(seq, data)
        self.wakeup.set()

    def _apply_control(self, text: str) -> None:
        try:
            control = json.loads(text)
        except ValueError:
            raise ProtocolViolation(
                CLOSE_UNSUPPORTED, "text messages must be JSON; send frames as binary messages"
            ) from None
        if not isinstance(control, dict):
            raise ProtocolViolation(CLOSE_UNSUPPORTED, "text messages must be JSON objects")
        for key, value in control.items():
            if not isinstance(value, int) or isinstance(value, bool):
                raise ProtocolViolation(CLOSE_UNSUPPORTED, f"{key} must be an integer")
            if key == "seq":
                self.next_seq = value
            elif key in OPTION_BOUNDS:
                low, high = OPTION_BOUNDS[key]
                if not low <= value <= high:
                    raise ProtocolViolation(CLOSE_UNSUPPORTED, f"{key} must be in {low}..{high}")
                self.options[key] = value
            else:
                raise ProtocolViolation(CLOSE_UNSUPPORTED, f"unknown control field {key!r}")

    async def _process_loop(self) -> None:
        while True:
            await self.wakeup.wait()
            self.wakeup.clear()
            frame, self.pending = self.pending, None
            if frame is None:
                continue
            await self._process(frame)

    async def _process(self, frame: Frame) -> None:
        state = self.state
        limits = state.limits(
            self.options.get("max_faces"),
            self.options.get("min_face_size"),
            max_bytes=state.settings.stream_max_message_bytes,
        )
        try:
            analysis = await state.pool.run(
                analyze_bytes,
                frame.data,
                state.detector,
                state.model,
                limits,
                state.settings.align_faces,
            )
        except ServiceError as exc:
            self.failed += 1
            state.metrics.stream_frames.labels("failed").inc()
            error = StreamError(
                seq=frame.seq,
                error=ErrorDetail(code=exc.code, message=exc.message),
                failed=self.failed,
                dropped=self.dropped,
            )
            await self._send(error.model_dump_json())
            return
        self.processed += 1
        state.metrics.stream_frames.labels("processed").inc()
        state.metrics.observe_timings(analysis.timings_ms, len(analysis.faces))
        result = StreamResult(
            seq=frame.seq,
            faces=faces_of(analysis, state.model.labels),
            image=image_of(analysis),
            timings_ms=analysis.timings_ms,
            received=self.received,
            processed=self.processed,
            failed=self.failed,
            dropped=self.dropped,
        )
        await self._send(result.model_dump_json())
