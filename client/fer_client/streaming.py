"""The client side of ``WS /v1/stream`` (protocol: openapi/websocket.md).

The server numbers binary messages 1, 2, 3, ... per connection, works on one frame at a time and
keeps one waiting; a newer frame replaces the waiting one. Results come back in increasing
``seq`` order, so when the answer to ``seq`` arrives every earlier unanswered frame was dropped.
The client keeps at most ``in_flight`` frames unanswered, yields every frame once, in input
order (answered, failed or dropped), and with ``all_frames`` sends dropped frames again.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeAlias
from urllib.parse import urlencode

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from fer_client.errors import ConnectionFailed, ServiceError, StreamClosed
from fer_client.images import ImageInput, image_bytes
from fer_client.results import FrameResult, FrameStatus

FrameInput: TypeAlias = Iterable[ImageInput] | AsyncIterable[ImageInput]
CLOSE_TRY_LATER = 1013
RETRY_WAIT_S = 1.0


@dataclass
class _Sent:
    """A frame on its way: its position in the input and its bytes (kept to send it again)."""

    index: int
    data: bytes


@dataclass
class _Ledger:
    """Which input frame each unanswered ``seq`` of this connection carries, and the answers
    waiting for their turn to be yielded in input order."""

    all_frames: bool
    waiting: dict[int, _Sent] = field(default_factory=dict)
    last_seq: int = 0
    answered: int = 0
    ready: dict[int, FrameResult] = field(default_factory=dict)
    next_index: int = 0

    def sent(self, item: _Sent) -> None:
        self.last_seq += 1
        self.waiting[self.last_seq] = item

    def answer(self, message: dict[str, Any]) -> list[_Sent]:
        """Record a server message; returns the dropped frames to send again."""
        seq = message.get("seq")
        if message.get("type") not in ("result", "error") or seq not in self.waiting:
            return []  # a message kind this client does not know
        again = []
        for earlier in [s for s in self.waiting if s < seq]:
            item = self.waiting.pop(earlier)
            if self.all_frames:
                again.append(item)
            else:
                self.ready[item.index] = FrameResult(index=item.index, status=FrameStatus.DROPPED)
        item = self.waiting.pop(seq)
        self.ready[item.index] = frame_result(item.index, message)
        self.answered += 1
        return again

    def reconnected(self) -> list[_Sent]:
        """A new connection numbers from 1 again: the unanswered frames, to send again."""
        again = list(self.waiting.values())
        self.waiting.clear()
        self.last_seq = 0
        return again

    def in_order(self) -> Iterator[FrameResult]:
        while self.next_index in self.ready:
            yield self.ready.pop(self.next_index)
            self.next_index += 1


def frame_result(index: int, message: dict[str, Any]) -> FrameResult:
    """A ``result`` or ``error`` message of the stream as a FrameResult for input ``index``."""
    if message["type"] == "error":
        return FrameResult.model_validate(
            {**message, "index": index, "status": FrameStatus.FAILED, "error": message["error"]}
        )
    return FrameResult.model_validate({**message, "index": index, "status": FrameStatus.OK})


class _Frames:
    """Encoded frames from a sync iterable (read in a worker thread) or an async one."""

    def __init__(self, frames: FrameInput) -> None:
        self._async = frames.__aiter__() if isinstance(frames, AsyncIterable) else None
        self._sync = iter(frames) if isinstance(frames, Iterable) else None
        self.count = 0

    async def next(self) -> bytes | None:
        """The next frame's bytes; None when the input is exhausted."""
        data: bytes | None
        if self._async is not None:
            try:
                image = await anext(self._async)
            except StopAsyncIteration:
                return None
            data = await asyncio.to_thread(image_bytes, image)
        else:
            data = await asyncio.to_thread(self._next_sync)
        if data is not None:
            self.count += 1
        return data

    def _next_sync(self) -> bytes | None:
        assert self._sync is not None
        image = next(self._sync, None)
        return None if image is None else image_bytes(image)


def stream_url(url: str, query: dict[str, int]) -> str:
    """``http(s)://host`` -> ``ws(s)://host/v1/stream?query``."""
    base = url.replace("https://", "wss://", 1).replace("http://", "ws://", 1).rstrip("/")
    return f"{base}/v1/stream" + (f"?{urlencode(query)}" if query else "")


async def stream_frames(
    url: str,
    frames: FrameInput,
    *,
    api_key: str | None,
    in_flight: int,
    all_frames: bool,
    query: dict[str, int],
    options: dict[str, Any],
    retries: int,
    open_timeout: float,
) -> AsyncIterator[FrameResult]:
    """See ``Client.stream``."""
    if in_flight < 1:
        raise ValueError(f"in_flight must be at least 1; got {in_flight}")
    source = _Frames(frames)
    ledger = _Ledger(all_frames)
    headers = {"X-API-Key": api_key} if api_key else {}
    again: list[_Sent] = []
    attempt = 0
    while True:
        try:
            # No compression: frames are JPEG already, deflating them costs CPU on both ends.
            async with connect(
                stream_url(url, query),
                additional_headers=headers,
                compression=None,
                open_timeout=open_timeout,
                max_size=2**22,
            ) as ws:
                if options:
                    await ws.send(json.dumps(options))
                async for result in _exchange(ws, source, ledger, again, in_flight, open_timeout):
                    yield result
                return
        except ConnectionClosed as exc:
            code, reason = (exc.rcvd.code, exc.rcvd.reason) if exc.rcvd else (None, "")
            if code == CLOSE_TRY_LATER and ledger.answered == 0 and attempt < retries:
                attempt += 1
                await asyncio.sleep(RETRY_WAIT_S)
                again = ledger.reconnected()
                continue
            raise StreamClosed(code, reason or "connection lost") from None
        except InvalidStatus as exc:
            status = exc.response.status_code
            raise ServiceError(f"{url} refused the stream", f"http_{status}", status) from None
        except (OSError, InvalidHandshake, TimeoutError) as exc:
            raise ConnectionFailed(f"cannot open a stream to {url}: {exc}") from None


async def _exchange(
    ws: ClientConnection,
    source: _Frames,
    ledger: _Ledger,
    again: list[_Sent],
    in_flight: int,
    timeout: float,
) -> AsyncIterator[FrameResult]:
    retry = deque(again)  # frames to send again go first, within the same window
    exhausted = False
    while True:
        while len(ledger.waiting) < in_flight and (retry or not exhausted):
            if retry:
                await _send(ws, ledger, retry.popleft())
                continue
            data = await source.next()
            if data is None:
                exhausted = True
            else:
                await _send(ws, ledger, _Sent(source.count - 1, data))
        if not ledger.waiting:
            return
        try:
            message = await asyncio.wait_for(ws.recv(), timeout)
        except TimeoutError:
            raise ConnectionFailed(f"the stream gave no answer within {timeout:g} s") from None
        if isinstance(message, bytes):
            continue
        retry.extend(ledger.answer(json.loads(message)))
        for result in ledger.in_order():
            yield result


async def _send(ws: ClientConnection, ledger: _Ledger, item: _Sent) -> None:
    await ws.send(item.data)
    ledger.sent(item)
