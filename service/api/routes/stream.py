"""WS /v1/stream: webcam frames in, per-frame results out (protocol in openapi/websocket.md)."""

from __future__ import annotations

from fastapi import APIRouter, WebSocket

from service.api.deps import State, check_api_key, check_ready
from service.api.errors import ws_close_code
from service.api.stream_session import ProtocolViolation, StreamSession, query_options
from service.errors import ServerBusy, ServiceError
from service.state import AppState

router = APIRouter(tags=["stream"])


def _check_capacity(state: AppState) -> None:
    if state.open_streams >= state.settings.max_streams:
        raise ServerBusy(f"{state.settings.max_streams} streams are open; try again later")


@router.websocket("/v1/stream")
async def stream(websocket: WebSocket, state: State) -> None:
    """Stream frames; faces are tracked, the latest frame wins and every drop is counted.

    Options (``service.bounds.STREAM_OPTIONS``) come as query parameters or JSON control
    messages; both are checked after the handshake, so a bad one closes the stream with 1003
    and a reason instead of failing the handshake with a bare 403.
    """
    await websocket.accept()
    try:
        check_api_key(state, websocket)
        check_ready(state)
        _check_capacity(state)
    except ServiceError as refused:
        await websocket.close(ws_close_code(refused), refused.message)
        return
    try:
        session = StreamSession(websocket, state, query_options(websocket.query_params))
    except ProtocolViolation as bad:
        await websocket.close(bad.code, bad.reason)
        return
    state.open_streams += 1
    state.metrics.open_streams.inc()
    try:
        await session.run()
    finally:
        state.open_streams -= 1
        state.metrics.open_streams.dec()
