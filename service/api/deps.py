"""Dependencies that hand the app's state to routes."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Security
from fastapi.security import APIKeyHeader
from starlette.requests import HTTPConnection

from service.errors import NotReady, Unauthorized
from service.state import AppState


def state_of(connection: HTTPConnection) -> AppState:
    """The running app's state (HTTP requests and WebSockets alike)."""
    state: AppState = connection.app.state.fer
    return state


async def get_state(connection: HTTPConnection) -> AppState:
    """``state_of`` as a dependency (async: a plain ``def`` would hop to a thread per request)."""
    return state_of(connection)


def check_ready(state: AppState) -> None:
    """Raise NotReady while the model is still warming up."""
    if not state.ready:
        raise NotReady("the model is still warming up")


async def get_ready_state(connection: HTTPConnection) -> AppState:
    """The state, or NotReady (503) while the model is still warming up."""
    state = state_of(connection)
    check_ready(state)
    return state


API_KEY_HEADER = "X-API-Key"
API_KEY_QUERY = "api_key"  # browsers cannot set headers on a WebSocket
_api_key_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False)


def key_is_valid(state: AppState, key: str | None) -> bool:
    """True when no keys are configured, or ``key`` is one of them (constant-time compare)."""
    keys = state.settings.api_keys
    if not keys:
        return True
    return key is not None and any(hmac.compare_digest(key, k) for k in keys)


def check_api_key(state: AppState, connection: HTTPConnection) -> None:
    """Raise Unauthorized unless the connection carries a configured key (the header, or the
    query parameter that browsers must use for WebSockets)."""
    key = connection.headers.get(API_KEY_HEADER) or connection.query_params.get(API_KEY_QUERY)
    if not key_is_valid(state, key):
        raise Unauthorized(
            f"send a valid API key in the {API_KEY_HEADER} header or the {API_KEY_QUERY} query"
        )


async def require_api_key(
    connection: HTTPConnection, _: Annotated[str | None, Security(_api_key_header)]
) -> None:
    """401 unless the request carries a configured key (declares the header in OpenAPI)."""
    check_api_key(state_of(connection), connection)


State = Annotated[AppState, Depends(get_state)]
ReadyState = Annotated[AppState, Depends(get_ready_state)]
