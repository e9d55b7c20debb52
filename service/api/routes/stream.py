"""WS /v1/stream: webcam frames in, per-frame results out (protocol in openapi/websocket.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, WebSocket

from service.api.deps import API_KEY_HEADER, API_KEY_QUERY, State, key_is_valid
from service.streaming import CLOSE_POLICY, CLOSE_TRY_LATER, StreamSession

router = APIRouter(tags=["stream"])


@router.websocket("/v1/stream")
async def stream(
    websocket: WebSocket,
    state: State,
    max_faces: Annotated[int | None, Query(ge=1, le=100)] = None,
    min_face_size: Annotated[int | None, Query(ge=8, le=4096)] = None,
) -> None:
    """Stream frames; the latest frame wins and every dropped frame is counted."""
    await websocket.accept()
    key = websocket.headers.get(API_KEY_HEADER) or websocket.query_params.get(API_KEY_QUERY)
    if not key_is_valid(state, key):
        await websocket.close(CLOSE_POLICY, f"missing or invalid API key ({API_KEY_QUERY}=...)")
        return
    if not state.ready:
        await websocket.close(CLOSE_TRY_LATER, "the model is still warming up")
        return
    if state.open_streams >= state.settings.max_streams:
        await websocket.close(
            CLOSE_TRY_LATER, f"{state.settings.max_streams} streams are open; try again later"
        )
        return
    options = {k: v for k, v in (("max_faces", max_faces), ("min_face_size", min_face_size)) if v}
    session = StreamSession(websocket, state, options)
    state.open_streams += 1
    state.metrics.open_streams.inc()
    try:
        await session.run()
    finally:
        state.open_streams -= 1
        state.metrics.open_streams.dec()
