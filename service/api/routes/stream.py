"""WS /v1/stream: webcam frames in, per-frame results out (protocol in openapi/websocket.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, WebSocket

from service.api.deps import State, check_api_key, check_ready
from service.api.errors import ws_close_code
from service.api.stream_session import StreamSession
from service.bounds import (
    DETECT_EVERY_FRAMES,
    DETECT_EVERY_MS,
    HALF_LIFE_MS,
    KEEP_MS,
    MAX_FACES,
    MIN_FACE_SIZE,
)
from service.errors import ServerBusy, ServiceError
from service.state import AppState

router = APIRouter(tags=["stream"])


def _check_capacity(state: AppState) -> None:
    if state.open_streams >= state.settings.max_streams:
        raise ServerBusy(f"{state.settings.max_streams} streams are open; try again later")


@router.websocket("/v1/stream")
async def stream(
    websocket: WebSocket,
    state: State,
    max_faces: Annotated[int | None, MAX_FACES.query()] = None,
    min_face_size: Annotated[int | None, MIN_FACE_SIZE.query()] = None,
    half_life_ms: Annotated[int | None, HALF_LIFE_MS.query()] = None,
    detect_every_ms: Annotated[int | None, DETECT_EVERY_MS.query()] = None,
    detect_every_frames: Annotated[int | None, DETECT_EVERY_FRAMES.query()] = None,
    keep_ms: Annotated[int | None, KEEP_MS.query()] = None,
) -> None:
    """Stream frames; faces are tracked, the latest frame wins and every drop is counted."""
    await websocket.accept()
    try:
        check_api_key(state, websocket)
        check_ready(state)
        _check_capacity(state)
    except ServiceError as refused:
        await websocket.close(ws_close_code(refused), refused.message)
        return
    given = {
        "max_faces": max_faces,
        "min_face_size": min_face_size,
        "half_life_ms": half_life_ms,
        "detect_every_ms": detect_every_ms,
        "detect_every_frames": detect_every_frames,
        "keep_ms": keep_ms,
    }
    session = StreamSession(websocket, state, {k: v for k, v in given.items() if v is not None})
    state.open_streams += 1
    state.metrics.open_streams.inc()
    try:
        await session.run()
    finally:
        state.open_streams -= 1
        state.metrics.open_streams.dec()
