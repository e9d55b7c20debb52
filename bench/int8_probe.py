"""Would int8 help? Static per-channel quantization of both bundled models; prints a table.

    python -m bench.int8_probe [--fer ../shared/data/fer2013]

onnxruntime ``quantize_static`` (QDQ, int8 weights per channel). The classifier is calibrated on
FER-2013 train faces and scored on all of val, in the variants of ``CLASSIFIER_VARIANTS`` (every
op, or the convolutions only; activation type; calibration method and face count); the detector
is calibrated on photo scenes of another seed than the report's. Median ms per call on one
thread: the classifier at batch 1, the detector on a 640x480 frame (288x384 input).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
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
# label -> (calibration faces per class, quantize_static options); every variant quantizes
# weights per channel to int8 in QDQ format.
CONV_ONLY = {"op_types_to_quantize": ["Conv"]}
CALIBRATION_BATCH = 56  # divides 7 x 40 and 7 x 200 faces
CLASSIFIER_VARIANTS: dict[str, tuple[int, dict[str, Any]]] = {
    "every op, uint8 activations, MinMax, 280 faces": (40, {}),
    "convolutions, uint8 activations, MinMax, 280 faces": (40, CONV_ONLY),
    "convolutions + MatMul, int8 symmetric activations, MinMax, 280 faces": (
        40,
        {
            "op_types_to_quantize": ["Conv", "MatMul"],
            "activation_type": QuantType.QInt8,
            "extra_options": {"ActivationSymmetric": True},
        },
    ),  # fmt: skip
    "convolutions, uint8 activations, MinMax, 1,400 faces": (200, CONV_ONLY),
    "convolutions, uint8 activations, entropy, 1,400 faces": (
        200,
        {**CONV_ONLY, "calibrate_method": CalibrationMethod.Entropy},
    ),  # fmt: skip
    "convolutions, uint8 activations, percentile 99.99, 1,400 faces": (
        200,
        {
            **CONV_ONLY,
            "calibrate_method": CalibrationMethod.Percentile,
            "extra_options": {"CalibPercentile": 99.99},
        },
    ),  # fmt: skip
}


class Batches(CalibrationDataReader):
    """Feeds calibration inputs to onnxruntime's quantizer."""

    def __init__(self, name: str, inputs: list[np.ndarray]) -> None:
        self._inputs = iter([{name: x} for x in inputs])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._inputs, None)


def quantize(
    model: Path, name: str, calibration: list[np.ndarray], out: Path, **options: Any
) -> Path:
    """A QDQ int8 copy of ``model`` at ``out``; ``options`` go to ``quantize_static``."""
    prepared = out.with_suffix(".pre.onnx")
    quant_pre_process(str(model), str(prepared), skip_symbolic_shape=True)
    settings: dict[str, Any] = {"activation_type": QuantType.QUInt8, **options}
    quantize_static(str(prepared), str(out), Batches(name, calibration),
                    quant_format=QuantFormat.QDQ, per_channel=True,
                    weight_type=QuantType.QInt8, **settings)  # fmt: skip
    return out


def calibration_batches(faces: list[tuple[np.ndarray, int]], size: int) -> list[np.ndarray]:
    """(size, 48, 48, 1) float32 batches of equal size (the histogram calibrators need that);
    a remainder smaller than ``size`` is left out."""
    return [np.stack([f for f, _ in faces[i : i + size]]).astype(np.float32)[..., None]
            for i in range(0, len(faces) - size + 1, size)]  # fmt: skip


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
    val = load_fer_faces(args.fer / "val", labels, 10**6, seed=0)
    val_x = np.stack([f for f, _ in val]).astype(np.float32)[..., np.newaxis]
    val_y = np.array([label for _, label in val])
    detector = BlazeFaceDetector(BUNDLED_BLAZEFACE)
    frames = [s.gray for s in photo_scenes(source_photos(ROOT / "test-output/cache"), 60, 0, 99)]
    frame_input = detector._input(frames[0])[0]

    def classifier_row(variant: str, path: Path) -> None:
        session = cpu_session(path, 1)
        probs = np.concatenate([session.run(None, {"face": val_x[i : i + 64]})[0]
                                for i in range(0, len(val_x), 64)])  # fmt: skip
        ms = median_ms(partial(session.run, None, {"face": val_x[:1]}))
        accuracy = float(np.mean(probs.argmax(axis=1) == val_y))
        print(f"| classifier {BUNDLED_MODEL.stem} | {variant} | {ms:.2f} | {accuracy:.2%} |")

    print("| model | variant | ms, 1 thread | val top-1 |\n|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        classifier_row("float32", BUNDLED_MODEL)
        for i, (variant, (per_class, options)) in enumerate(CLASSIFIER_VARIANTS.items()):
            calibration = load_fer_faces(args.fer / "train", labels, per_class, seed=5)
            batches = calibration_batches(calibration, CALIBRATION_BATCH)
            out = Path(tmp) / f"cls{i}.onnx"
            classifier_row(f"int8, {variant}", quantize(BUNDLED_MODEL, "face", batches, out,
                                                        **options))  # fmt: skip
        inputs = [detector._input(gray)[0] for gray in frames]
        int8_detector = quantize(BUNDLED_BLAZEFACE, "input", inputs, Path(tmp) / "det.onnx")
        for variant, path in (("float32", BUNDLED_BLAZEFACE), ("int8", int8_detector)):
            session = cpu_session(path, 1)
            ms = median_ms(partial(session.run, None, {"input": frame_input}))
            print(f"| detector | {variant} | {ms:.2f} | |")


if __name__ == "__main__":
    main()
