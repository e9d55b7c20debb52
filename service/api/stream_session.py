"""One WebSocket stream: receive frames, process the latest, report every frame dropped.

Protocol (documented in openapi/websocket.md):
- binary message: one encoded frame (JPEG, PNG, WebP, BMP or TIFF);
- text message: JSON, ``{"seq": n, "ts": ms}`` tags the next frame (sequence number, capture
  time in ms), ``{"max_faces": n, "half_life_ms": n, ...}`` changes options (service.bounds'
  STREAM_OPTIONS); both may be combined in one message;
- faces are tracked and their emotions smoothed per stream (``service.tracking``);
- the server answers every processed frame with a ``result`` message and every frame that fails
  to decode with an ``error`` message; frames replaced by a newer one before processing are
  counted in ``dropped``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace

import anyio
from starlette.websockets import WebSocket, WebSocketDisconnect

from service.bounds import STREAM_OPTIONS
from service.errors import ServiceError
from service.responses import image_of, stream_faces_of
from service.schemas import ErrorDetail, StreamError, StreamResult
from service.state import AppState

logger = logging.getLogger("service")

CLOSE_UNSUPPORTED = 1003
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_TIMEOUT_S = 2.0
MAX_CONTROL_BYTES = 4096


def query_options(params: Mapping[str, str]) -> dict[str, int]:
    """The stream options among a connection's query parameters, as integers (the session checks
    their ranges); ProtocolViolation for one that is not an integer."""
    options = {}
    for key in STREAM_OPTIONS.keys() & params.keys():
        try:
            options[key] = int(params[key])
        except ValueError:
            raise ProtocolViolation(CLOSE_UNSUPPORTED, f"{key} must be an integer") from None
    return options


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
    t_ms: float  # capture time from the client (``ts``), else arrival time on the server


class StreamSession:
    """State of one open stream: options, counters and the single pending frame."""

    def __init__(self, websocket: WebSocket, state: AppState, options: dict[str, int]) -> None:
        self.ws = websocket
        self.state = state
        self.options: dict[str, int] = {}
        self.tracker = state.engine.tracker()
        self._set_options(options)
        self.received = 0
        self.processed = 0
        self.failed = 0
        self.dropped = 0
        self.next_seq: int | None = None
        self.next_ts: int | None = None
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
        self.state.metrics.child(self.state.metrics.stream_frames, "received").inc()
        seq = self.next_seq if self.next_seq is not None else self.received
        t_ms = float(self.next_ts) if self.next_ts is not None else time.monotonic() * 1000
        self.next_seq = self.next_ts = None
        if self.pending is not None:  # latest frame wins; the stale one is counted
            self.dropped += 1
            self.state.metrics.child(self.state.metrics.stream_frames, "dropped").inc()
        self.pending = Frame(seq, data, t_ms)
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
        options = {}
        for key, value in control.items():
            if not isinstance(value, int) or isinstance(value, bool):
                raise ProtocolViolation(CLOSE_UNSUPPORTED, f"{key} must be an integer")
            if key == "seq":
                self.next_seq = value
            elif key == "ts":
                self.next_ts = value
            elif key in STREAM_OPTIONS:
                options[key] = value
            else:
                raise ProtocolViolation(CLOSE_UNSUPPORTED, f"unknown control field {key!r}")
        self._set_options(options)

    def _set_options(self, options: dict[str, int]) -> None:
        """Check and apply stream options; tracking ones go to the tracker at once."""
        for key, value in options.items():
            problem = STREAM_OPTIONS[key].check(key, value)
            if problem:
                raise ProtocolViolation(CLOSE_UNSUPPORTED, problem)
            self.options[key] = value
        tracking = {k: v for k, v in options.items() if hasattr(self.tracker.options, k)}
        if tracking:
            self.tracker.options = replace(self.tracker.options, **tracking)
        if options.keys() - tracking.keys():  # detection limits changed: look afresh
            self.tracker.detect_next_frame()

    async def _process_loop(self) -> None:
        while True:
            await self.wakeup.wait()
            self.wakeup.clear()
            frame, self.pending = self.pending, None
            if frame is None:
                continue
            await self._process(frame)

    async def _fail(self, frame: Frame, detail: ErrorDetail) -> None:
        """Count a frame that could not be processed and tell the client, stream kept open."""
        self.failed += 1
        self.state.metrics.child(self.state.metrics.stream_frames, "failed").inc()
        error = StreamError(seq=frame.seq, error=detail, failed=self.failed, dropped=self.dropped)
        # Only the fields that apply: a stream error is {code, message} (+ request_id on a bug).
        await self._send(error.model_dump_json(exclude_none=True))

    async def _process(self, frame: Frame) -> None:
        state = self.state
        limits = state.analyzer.limits(
            self.options.get("max_faces"),
            self.options.get("min_face_size"),
            max_bytes=state.settings.stream_max_message_bytes,
        )
        try:
            analysis = await state.analyzer.frame(frame.data, limits, self.tracker, frame.t_ms)
        except ServiceError as exc:
            await self._fail(frame, ErrorDetail(code=exc.code, message=exc.message))
            return
        except Exception:  # a bug: this frame fails, counted and logged; the stream goes on
            request_id = uuid.uuid4().hex
            logger.exception("unexpected error, request_id=%s, stream frame %s", request_id,
                             frame.seq)  # fmt: skip
            detail = ErrorDetail(
                code="internal_error",
                message="an unexpected error; the service's log has the details under this "
                "request id",
                request_id=request_id,
            )
            await self._fail(frame, detail)
            return
        self.processed += 1
        state.metrics.child(state.metrics.stream_frames, "processed").inc()
        result = StreamResult(
            seq=frame.seq,
            faces=stream_faces_of(analysis, state.model.labels),
            image=image_of(analysis),
            timings_ms=analysis.timings_ms,
            detector_ran=analysis.detector_ran,
            received=self.received,
            processed=self.processed,
            failed=self.failed,
            dropped=self.dropped,
        )
        await self._send(result.model_dump_json())
