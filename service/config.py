"""Service settings, read once from ``FER_*`` environment variables and validated at start-up."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from service.bounds import (
    DETECT_EVERY_FRAMES,
    DETECT_EVERY_MS,
    HALF_LIFE_MS,
    KEEP_MS,
    MAX_FACES,
    MIN_FACE_SIZE,
)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
BUNDLED_MODELS_DIR = PROJECT_ROOT / "models"
# The default agrees with the FER+ annotators' majority; the FER-2013-label model ships beside it
# for FER-2013 benchmark comparisons (README, "The bundled models").
BUNDLED_MODEL = BUNDLED_MODELS_DIR / "ferplus-mobilenet-64x2-int8.onnx"
FER2013_LABEL_MODEL = BUNDLED_MODELS_DIR / "fer-mobilenet-64x2-int8.onnx"
BUNDLED_BLAZEFACE = BUNDLED_MODELS_DIR / "blazeface-back.onnx"
BUNDLED_YUNET = BUNDLED_MODELS_DIR / "yunet-s.onnx"
# The file each DNN detector loads unless FER_DETECTOR_MODEL_PATH names another.
BUNDLED_DETECTORS = {"blazeface": BUNDLED_BLAZEFACE, "yunet": BUNDLED_YUNET}


class Settings(BaseSettings):
    """Every knob of the service; each field is ``FER_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="FER_", frozen=True)

    models_dir: Path = BUNDLED_MODELS_DIR
    model_path: Path | None = None
    detector: Literal["blazeface", "yunet", "haar"] = "blazeface"
    detector_model_path: Path | None = None
    detector_min_score: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.6
    detector_input_side: Annotated[int, Field(ge=128, le=1024, multiple_of=32)] = 384
    detector_work_pixels: Annotated[int, Field(ge=0, le=100_000_000)] = 4_000_000
    rotation_search: bool = True
    align_faces: bool = True
    detector_max_side: Annotated[int, Field(ge=160, le=4096)] = 400
    detector_scale_factor: Annotated[float, Field(gt=1.0, le=2.0)] = 1.1
    detector_min_neighbors: Annotated[int, Field(ge=1, le=20)] = 5
    min_face_size: Annotated[int, MIN_FACE_SIZE.field()] = 24
    max_faces: Annotated[int, MAX_FACES.field()] = 20
    max_crops: Annotated[int, Field(ge=1, le=1024)] = 64
    max_upload_bytes: Annotated[int, Field(ge=1024)] = 10 * 1024 * 1024
    max_pixels: Annotated[int, Field(ge=64 * 64)] = 40_000_000
    worker_threads: Annotated[int, Field(ge=1, le=64)] = 2
    queue_size: Annotated[int, Field(ge=0, le=1024)] = 16
    ort_threads: Annotated[int, Field(ge=1, le=64)] = 1
    opencv_threads: Annotated[int, Field(ge=0, le=64)] = 1
    warmup_runs: Annotated[int, Field(ge=0, le=100)] = 3
    stream_max_message_bytes: Annotated[int, Field(ge=1024)] = 4 * 1024 * 1024
    stream_max_messages_per_second: Annotated[int, Field(ge=1, le=10_000)] = 240
    stream_send_timeout_s: Annotated[float, Field(gt=0, le=300)] = 10.0
    max_streams: Annotated[int, Field(ge=1, le=10_000)] = 64
    stream_half_life_ms: Annotated[int, HALF_LIFE_MS.field()] = 300
    stream_detect_every_ms: Annotated[int, DETECT_EVERY_MS.field()] = 200
    stream_detect_every_frames: Annotated[int, DETECT_EVERY_FRAMES.field()] = 10
    stream_keep_ms: Annotated[int, KEEP_MS.field()] = 1000
    api_keys: Annotated[list[str], NoDecode] = []
    cors_origins: Annotated[list[str], NoDecode] = []
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @field_validator("cors_origins", "api_keys", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [o.strip() for o in value.split(",") if o.strip()]
        return value

    @field_validator("model_path", "detector_model_path")
    @classmethod
    def _model_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"model file {value} does not exist")
        return value

    @field_validator("models_dir")
    @classmethod
    def _folder_exists(cls, value: Path) -> Path:
        if not value.is_dir():
            raise ValueError(f"models folder {value} does not exist")
        return value

    def classifier_file(self) -> Path:
        """The emotion classifier's ONNX file: ``model_path``, or the bundled one in
        ``models_dir``."""
        return self.model_path or self.models_dir / BUNDLED_MODEL.name

    def detector_file(self) -> Path:
        """The ONNX file of the chosen DNN detector: ``detector_model_path``, or its bundled
        file in ``models_dir``."""
        if self.detector_model_path is not None:
            return self.detector_model_path
        return self.models_dir / BUNDLED_DETECTORS[self.detector].name


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings."""
    return Settings()
