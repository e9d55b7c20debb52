"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from service.api.deps import State
from service.errors import error_body
from service.schemas import ErrorResponse, Status

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Status)
async def healthz() -> Status:
    """The process is alive."""
    return Status(status="ok")


@router.get("/readyz", response_model=Status, responses={503: {"model": ErrorResponse}})
async def readyz(state: State) -> Status | JSONResponse:
    """The model is loaded and warmed up, so requests get answered at full speed."""
    if not state.ready:
        return JSONResponse(error_body("not_ready", "the model is still warming up"), 503)
    return Status(status="ready")
