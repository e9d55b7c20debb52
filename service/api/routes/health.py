"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter

from service.api.deps import ReadyState
from service.schemas import ErrorResponse, Status

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Status)
async def healthz() -> Status:
    """The process is alive."""
    return Status(status="ok")


@router.get("/readyz", response_model=Status, responses={503: {"model": ErrorResponse}})
async def readyz(_: ReadyState) -> Status:
    """The model is loaded and warmed up, so requests get answered at full speed."""
    return Status(status="ready")
