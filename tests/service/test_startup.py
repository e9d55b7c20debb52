"""Start-up faults stop the process with a one-line reason: bad settings, broken model files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from service.classifier import EmotionModel
from service.config import BUNDLED_BLAZEFACE, BUNDLED_MODEL, BUNDLED_YUNET, Settings
from service.sessions import ModelLoadError
from tests.helpers.paths import ROOT


def _start_app(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    code = "import service.main as m; from fastapi.testclient import TestClient\n" \
           "with TestClient(m.app_from_environment()): pass"  # fmt: skip
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
        env={**os.environ, **env}, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"FER_WORKER_THREADS": "0"},
            "FER_WORKER_THREADS: Input should be greater than or equal to 1",
        ),
        (
            {"FER_MODEL_PATH": "/nowhere/model.onnx"},
            "model file /nowhere/model.onnx does not exist",
        ),
        (
            {"FER_DETECTOR": "magic"},
            "FER_DETECTOR: Input should be 'blazeface', 'yunet' or 'haar'",
        ),
        (
            {"FER_DETECTOR_MODEL_PATH": "/nowhere/face.onnx"},
            "model file /nowhere/face.onnx does not exist",
        ),
        (
            {"FER_MODELS_DIR": "/nowhere"},
            "models folder /nowhere does not exist",
        ),
        (
            {"FER_DETECTOR_INPUT_SIDE": "300"},
            "FER_DETECTOR_INPUT_SIDE: Input should be a multiple of 32",
        ),
    ],
)
def test_a_bad_setting_stops_start_up_with_a_clear_message(
    env: dict[str, str], message: str
) -> None:
    result = _start_app(env)
    assert result.returncode != 0
    assert "invalid configuration" in result.stderr and message in result.stderr


def test_a_corrupt_model_file_stops_start_up(tmp_path: Path) -> None:
    corrupt = tmp_path / "broken.onnx"
    corrupt.write_bytes(BUNDLED_MODEL.read_bytes()[:5000])
    with pytest.raises(ModelLoadError, match="cannot load model"):
        EmotionModel(corrupt)
    result = _start_app({"FER_MODEL_PATH": str(corrupt)})
    assert result.returncode != 0
    assert "start-up failed: cannot load model" in result.stderr
    assert "Traceback" not in result.stderr  # one line, not a stack


def test_a_detector_file_of_the_wrong_kind_stops_start_up() -> None:
    result = _start_app(
        {"FER_DETECTOR": "yunet", "FER_DETECTOR_MODEL_PATH": str(BUNDLED_BLAZEFACE)}
    )
    assert result.returncode != 0
    assert "start-up failed" in result.stderr and "lacks YuNet stride metadata" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_bundled_files_are_found_in_the_models_folder_for_each_detector(tmp_path: Path) -> None:
    # The Docker image installs the package away from its models/ and sets FER_MODELS_DIR.
    for bundled in (BUNDLED_MODEL, BUNDLED_BLAZEFACE, BUNDLED_YUNET):
        (tmp_path / bundled.name).write_bytes(bundled.read_bytes())
    settings = Settings(models_dir=tmp_path, detector="yunet")
    assert settings.classifier_file() == tmp_path / BUNDLED_MODEL.name
    assert settings.detector_file() == tmp_path / BUNDLED_YUNET.name
    result = _start_app({"FER_MODELS_DIR": str(tmp_path), "FER_DETECTOR": "yunet"})
    assert result.returncode == 0, result.stderr[-2000:]
