"""Which int8? Static per-channel quantization of the float32 classifier (the bundled int8
model's source) and of the detector; prints a table.

    python -m bench.int8_probe [--fer ../shared/data/fer2013]

onnxruntime ``quantize_static`` (QDQ, int8 weights per channel, uint8 activations). The
classifier is calibrated on FER-2013 train faces drawn as ``training.quantize`` draws them and
scored on all of val, in the variants of ``CLASSIFIER_VARIANTS``: every op, every convolution,
or the convolutions of the late MobileNet blocks (``training.quantize``'s rule); calibration
method and face count. The detector is calibrated on photo scenes of another seed than the
report's. Median ms per call on one thread: the classifier at batch 1, the detector on a
640x480 frame (288x384 input).
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import onnx
from onnxruntime.quantization import CalibrationMethod

from bench.scenes import photo_scenes, source_photos
from bench.timing import median_ms
from service.config import BUNDLED_BLAZEFACE, BUNDLED_MODEL, Settings
from service.detectors.blazeface import BlazeFaceDetector
from service.detectors.factory import dnn_options
from service.model_files import read_card
from service.sessions import cpu_session
from training.data import as_model_input, load_folder_split
from training.predict import onnx_probabilities
from training.quantize import (
    CALIBRATION_SEED,
    DEFAULT_FROM_BLOCK,
    calibration_faces,
    in_batches,
    late_block_convs,
    quantize_int8,
)

# The float32 classifier: the bundled model's int8 source, or the bundled model itself.
FLOAT_MODEL = BUNDLED_MODEL.parent / read_card(BUNDLED_MODEL).get("quantization", {}).get(
    "source", {}
).get("file", BUNDLED_MODEL.name)

ROOT = Path(__file__).resolve().parents[1]
CONV_ONLY = {"op_types_to_quantize": ["Conv"]}


def late_blocks(first: int) -> Callable[[onnx.ModelProto], dict[str, Any]]:
    """quantize_static options for the convolutions of MobileNet blocks ``first``-13 (the
    rule of ``training.quantize``, which ships ``first`` = 7)."""
    return lambda model: {"nodes_to_quantize": late_block_convs(model, first)}


# label -> (calibration train faces per class, quantize_static options, or a function of the
# model that returns them); every variant quantizes weights per channel to int8 in QDQ format.
ClassifierOptions = dict[str, Any] | Callable[[onnx.ModelProto], dict[str, Any]]
CLASSIFIER_VARIANTS: dict[str, tuple[int, ClassifierOptions]] = {
    "every op, uint8 activations, MinMax, 280 faces": (40, {}),
    "every op, uint8 activations, percentile 99.999, 1,400 faces": (
        200,
        {
            "calibrate_method": CalibrationMethod.Percentile,
            "extra_options": {"CalibPercentile": 99.999},
        },
    ),  # fmt: skip
    "convolutions, uint8 activations, MinMax, 280 faces": (40, CONV_ONLY),
    "convolutions, uint8 activations, percentile 99.99, 1,400 faces": (
        200,
        {
            **CONV_ONLY,
            "calibrate_method": CalibrationMethod.Percentile,
            "extra_options": {"CalibPercentile": 99.99},
        },
    ),  # fmt: skip
    **{
        f"convolutions of blocks {first}-13, MinMax, 280 faces"
        + (" (training.quantize's default)" if first == DEFAULT_FROM_BLOCK else ""): (
            40,
            late_blocks(first),
        )
        for first in (3, 5, 7, 9)
    },
}


def main() -> None:
    """Quantize, time and score both models; print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fer", type=Path, default=ROOT.parent / "shared/data/fer2013")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    val = load_folder_split(args.fer / "val", progress=False)
    val_x, val_y = as_model_input(val.images), val.labels
    train = load_folder_split(args.fer / "train", progress=False)
    detector = BlazeFaceDetector(BUNDLED_BLAZEFACE, **dnn_options(Settings()))
    frames = [s.gray for s in photo_scenes(source_photos(ROOT / "test-output/cache"), 60, 0, 99)]
    frame_input = detector._input(frames[0])[0]

    def classifier_row(variant: str, path: Path) -> None:
        probs = onnx_probabilities(path, val_x)
        session = cpu_session(path, 1)
        ms = median_ms(partial(session.run, None, {session.get_inputs()[0].name: val_x[:1]}))
        accuracy = float(np.mean(probs.argmax(axis=1) == val_y))
        print(f"| classifier {FLOAT_MODEL.stem} | {variant} | {ms:.2f} | {accuracy:.2%} |")

    print("| model | variant | ms, 1 thread | val top-1 |\n|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        classifier_row("float32", FLOAT_MODEL)
        graph = onnx.load(str(FLOAT_MODEL))
        for i, (variant, (per_class, options)) in enumerate(CLASSIFIER_VARIANTS.items()):
            calibration = calibration_faces(train, per_class, CALIBRATION_SEED)
            batches = in_batches(calibration)
            settings = options(graph) if callable(options) else options
            out = Path(tmp) / f"cls{i}.onnx"
            quantize_int8(FLOAT_MODEL, out, batches, **settings)
            classifier_row(f"int8, {variant}", out)
        inputs = [detector._input(gray)[0] for gray in frames]
        int8_detector = Path(tmp) / "det.onnx"
        quantize_int8(BUNDLED_BLAZEFACE, int8_detector, inputs)
        for variant, path in (("float32", BUNDLED_BLAZEFACE), ("int8", int8_detector)):
            session = cpu_session(path, 1)
            ms = median_ms(partial(session.run, None, {"input": frame_input}))
            print(f"| detector | {variant} | {ms:.2f} | |")


if __name__ == "__main__":
    main()
