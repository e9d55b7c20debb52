"""Request parameters from ``service.bounds``: the bound as FastAPI declares it (and OpenAPI)."""

from __future__ import annotations

from typing import Any

from fastapi import Query

from service.bounds import Bound


def query(bound: Bound) -> Any:
    """A FastAPI ``Query`` with ``bound``'s range and description."""
    return Query(ge=bound.low, le=bound.high, description=bound.description)
