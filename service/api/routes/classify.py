"""POST /v1/classify: already-cropped faces -> their emotions, in one batch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, UploadFile

from service.api.deps import ReadyState
from service.responses import crops_of
from service.schemas import ClassifyResponse, ModelRef, error_responses

router = APIRouter(tags=["classify"])


@router.post(
    "/v1/classify",
    response_model=ClassifyResponse,
    responses=error_responses(401, 413, 415, 422, 503),
)
async def classify(
    state: ReadyState,
    file: Annotated[
        list[UploadFile],
        File(
            description="one or more images (JPEG, PNG, WebP, BMP or TIFF), each one face "
            "already cropped (e.g. a FER-2013 48x48 image); up to FER_MAX_CROPS parts"
        ),
    ],
) -> ClassifyResponse:
    """Classify the emotion of already-cropped faces, no detection; in input order."""
    limits = state.analyzer.limits()
    parts = [(f.filename, await f.read(limits.max_bytes + 1)) for f in file]
    analysis = await state.analyzer.crops(parts, limits)
    return ClassifyResponse(
        crops=crops_of(analysis, [name for name, _ in parts], state.model.labels),
        model=ModelRef(name=state.model.name, version=state.model.version),
        timings_ms=analysis.timings_ms,
    )
