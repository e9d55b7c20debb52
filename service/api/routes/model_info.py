"""What model and detector this server runs."""

from __future__ import annotations

from fastapi import APIRouter

from service.api.deps import State
from service.schemas import CropInfo, ModelInfo, error_responses

router = APIRouter(tags=["model"])


@router.get("/v1/model", response_model=ModelInfo, responses=error_responses(401))
async def model_info(state: State) -> ModelInfo:
    """Labels, crop geometry, metrics and version of the loaded model."""
    model = state.model
    return ModelInfo(
        name=model.name,
        version=model.version,
        labels=list(model.labels),
        crop=CropInfo(size=model.crop.size, channels=model.crop.channels, margin=model.crop.margin),
        detector=state.face_detector.name,
        align_faces=state.settings.align_faces,
        metadata=model.metadata,
    )
