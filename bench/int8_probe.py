"""Would int8 help? Static per-channel quantization of both bundled models; prints a table.

    python -m bench.int8_probe [--fer ../shared/data/fer2013]

onnxruntime ``quantize_static`` (QDQ, int8 weights per channel, uint8 activations). The
classifier is calibrated on 280 FER-2013 train faces and scored on all of val; the detector is
calibrated on photo scenes of another seed than the report's. Median ms per call on one thread:
the classifier at batch 1, the detector on a 640x480 frame (288x384 input).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import cv2
import numpy as np
from onnxruntime.quantization import (
    CalibrationDataReader,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process

from bench.detector_eval import load_fer_faces
from bench.scenes import photo_scenes, source_photos
from service.blazeface import BlazeFaceDetector
from service.classifier import EmotionModel, cpu_session
from service.config import BUNDLED_BLAZEFACE, BUNDLED_MODEL

ROOT = Path(__file__).resolve().parents[1]


class Batches(CalibrationDataReader):
    """Feeds calibration inputs to onnxruntime's quantizer."""

    def __init__(self, name: str, inputs: list[np.ndarray]) -> None:
        self._inputs = iter([{name: x} for x in inputs])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._inputs, None)


def quantize(model: Path, name: str, calibration: list[np.ndarray], out: Path) -> Path:
    """A QDQ int8 copy of ``model`` at ``out``."""
    prepared = out.with_suffix(".pre.onnx")
    quant_pre_process(str(model), str(prepared), skip_symbolic_shape=True)
    quantize_static(str(prepared), str(out), Batches(name, calibration),
                    quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)  # fmt: skip
    return out


def median_ms(call: Callable[[], object], runs: int = 100) -> float:
    for _ in range(5):
        call()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    """Quantize, time and score both models; print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fer", type=Path, default=ROOT.parent / "shared/data/fer2013")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    labels = EmotionModel(BUNDLED_MODEL).labels
    calibration = load_fer_faces(args.fer / "train", labels, 40, seed=5)
    val = load_fer_faces(args.fer / "val", labels, 10**6, seed=0)
    val_x = np.stack([f for f, _ in val]).astype(np.float32)[..., np.newaxis]
    val_y = np.array([label for _, label in val])
    detector = BlazeFaceDetector(BUNDLED_BLAZEFACE)
    frames = [s.gray for s in photo_scenes(source_photos(ROOT / "test-output/cache"), 60, 0, 99)]
    frame_input = detector._input(frames[0])[0]

    print("| model | variant | ms, 1 thread | val top-1 |\n|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        faces = [np.stack([f for f, _ in calibration[i : i + 16]]).astype(np.float32)[..., None]
                 for i in range(0, len(calibration), 16)]  # fmt: skip
        int8_classifier = quantize(BUNDLED_MODEL, "face", faces, Path(tmp) / "cls.onnx")
        for variant, path in (("float32", BUNDLED_MODEL), ("int8", int8_classifier)):
            session = cpu_session(path, 1)
            probs = np.concatenate([session.run(None, {"face": val_x[i : i + 64]})[0]
                                    for i in range(0, len(val_x), 64)])  # fmt: skip
            ms = median_ms(partial(session.run, None, {"face": val_x[:1]}))
            accuracy = float(np.mean(probs.argmax(axis=1) == val_y))
            print(f"| classifier | {variant} | {ms:.2f} | {accuracy:.1%} |")
        inputs = [detector._input(gray)[0] for gray in frames]
        int8_detector = quantize(BUNDLED_BLAZEFACE, "input", inputs, Path(tmp) / "det.onnx")
        for variant, path in (("float32", BUNDLED_BLAZEFACE), ("int8", int8_detector)):
            session = cpu_session(path, 1)
            ms = median_ms(partial(session.run, None, {"input": frame_input}))
            print(f"| detector | {variant} | {ms:.2f} | |")


if __name__ == "__main__":
    main()
