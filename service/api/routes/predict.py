"""POST /v1/predict: one uploaded image -> every face with its emotions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, HTTPException, Request, UploadFile

from service.api.deps import ReadyState
from service.api.params import query
from service.bounds import MAX_FACES, MIN_FACE_SIZE
from service.responses import faces_of, image_of
from service.schemas import ModelRef, PredictResponse, error_responses

router = APIRouter(tags=["predict"])


@router.post(
    "/v1/predict",
    response_model=PredictResponse,
    responses=error_responses(400, 401, 413, 415, 422, 503),
)
async def predict(
    request: Request,
    state: ReadyState,
    file: Annotated[UploadFile, File(description="a JPEG, PNG, WebP, BMP or TIFF image")],
    max_faces: Annotated[int | None, query(MAX_FACES)] = None,
    min_face_size: Annotated[int | None, query(MIN_FACE_SIZE)] = None,
) -> PredictResponse:
    """Detect faces in one image and classify each face's emotion."""
    sent = len((await request.form()).getlist("file"))  # parsed once already: Starlette caches it
    if sent > 1:  # answering for one of them would drop the others unsaid
        raise HTTPException(422, f"send one image per request in the file field; got {sent}")
    limits = state.analyzer.limits(max_faces, min_face_size)
    data = await file.read(limits.max_bytes + 1)
    analysis = await state.analyzer.image(data, limits)
    return PredictResponse(
        faces=faces_of(analysis, state.model.labels),
        image=image_of(analysis),
        model=ModelRef(name=state.model.name, version=state.model.version),
        timings_ms=analysis.timings_ms,
    )
