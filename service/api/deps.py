"""Dependencies that hand the app's state to routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from service.errors import ApiError
from service.state import AppState


def get_state(connection: HTTPConnection) -> AppState:
    """The running app's state (HTTP requests and WebSockets alike)."""
    state: AppState = connection.app.state.fer
    return state


def get_ready_state(connection: HTTPConnection) -> AppState:
    """The state, or 503 while the model is still warming up."""
    state = get_state(connection)
    if not state.ready:
        raise ApiError(
            503, "not_ready", "the model is still warming up", headers={"Retry-After": "1"}
        )
    return state


State = Annotated[AppState, Depends(get_state)]
ReadyState = Annotated[AppState, Depends(get_ready_state)]
