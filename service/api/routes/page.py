"""GET /: the real-time webcam page, and its static files."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

STATIC = Path(__file__).resolve().parents[2] / "static"
ASSETS = {"app.js": "text/javascript", "style.css": "text/css"}

router = APIRouter(tags=["page"])


@router.get("/", response_class=FileResponse, include_in_schema=False)
async def index() -> FileResponse:
    """The webcam page."""
    return FileResponse(STATIC / "index.html", media_type="text/html")


@router.get("/static/{name}", response_class=FileResponse, include_in_schema=False)
async def asset(name: str) -> FileResponse:
    """The page's script and style sheet."""
    if name not in ASSETS:
        raise HTTPException(404, f"no static file {name!r}")
    return FileResponse(STATIC / name, media_type=ASSETS[name])
