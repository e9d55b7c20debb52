"""Where one REST request's model time goes: the pipeline's steps, and onnxruntime's profile of
each bundled model; prints markdown tables.

    python -m bench.request_profile [--runs 200]

The one-face 640x480 JPEG of ``bench.service_bench``, in-process on one thread (no HTTP; the
bench's empty-upload row gives that part). Steps: the header check and decode
(``service.imaging.decode_gray``), the detector's downscale
(``service.detectors.onnx.scale_to_side``),
the detector's onnxruntime call and its decoding (``detect`` minus the call), the crop and the
classifier's call; medians of ``--runs``. Then onnxruntime's own profile (``enable_profiling``)
of the detector on that frame's input and of the classifier at batch 1 (and of its float32
source when the bundled classifier is an int8 copy): time by op type, and the costliest nodes.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

from bench.service_bench import frame
from bench.timing import median_ms
from service.config import BUNDLED_BLAZEFACE, BUNDLED_MODEL, Settings
from service.crops import crop_faces
from service.detectors.blazeface import BlazeFaceDetector
from service.detectors.onnx import scale_to_side
from service.engine import Engine
from service.imaging import decode_gray
from service.model_files import read_card

NO_LIMIT = 10**9


def onnx_profile(
    path: Path, feed: dict[str, np.ndarray], runs: int
) -> tuple[float, Counter, Counter]:
    """Mean microseconds per run of onnxruntime's node kernels (one thread): in all, by op
    type and by node."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.enable_profiling = True
    with tempfile.TemporaryDirectory() as tmp:
        options.profile_file_prefix = str(Path(tmp) / "profile")
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        for _ in range(runs):
            session.run(None, feed)
        events = json.loads(Path(session.end_profiling()).read_text())
    by_op: Counter = Counter()
    by_node: Counter = Counter()
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            by_op[event["args"]["op_name"]] += event["dur"] / runs
            by_node[event["name"].removesuffix("_kernel_time")] += event["dur"] / runs
    return sum(by_op.values()), by_op, by_node


def print_profile(title: str, path: Path, feed: dict[str, np.ndarray], runs: int) -> None:
    total, by_op, by_node = onnx_profile(path, feed, runs)
    print(f"\n{title} ({path.name}): {total / 1000:.2f} ms of kernels per call\n")
    print("| op type | ms | share |\n|---|---|---|")
    for op, us in by_op.most_common(6):
        print(f"| {op} | {us / 1000:.3f} | {us / total:.0%} |")
    print("\n| costliest nodes | ms |\n|---|---|")
    for node, us in by_node.most_common(8):
        print(f"| {node[-70:]} | {us / 1000:.3f} |")


def main() -> None:
    """Time the steps, profile the models, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    data = frame(1)
    engine = Engine.from_settings(Settings(detector="blazeface", model_path=BUNDLED_MODEL))
    detector, model = engine.detector, engine.model
    assert isinstance(detector, BlazeFaceDetector)
    gray = decode_gray(data, NO_LIMIT, NO_LIMIT)
    tensor, _ = detector._input(gray)
    faces = detector.detect(gray, 24, 20)
    crops = crop_faces(gray, faces, model.crop.size, detector.framing, True)
    session = detector._session
    detector_call = partial_run(session, tensor)
    steps = {
        "decode (header check + imdecode)": lambda: decode_gray(data, NO_LIMIT, NO_LIMIT),
        "detector downscale (INTER_AREA)": lambda: scale_to_side(gray, detector.input_side),
        "detector input tensor (downscale included)": lambda: detector._input(gray),
        "detector onnxruntime call": detector_call,
        "detector, all (input, call, decoding, NMS)": lambda: detector.detect(gray, 24, 20),
        "crop, eyes levelled": lambda: crop_faces(
            gray, faces, model.crop.size, detector.framing, True
        ),
        f"classifier, {len(crops)} face ({model.name})": lambda: model.classify(crops),
    }
    print(f"one-face 640x480 JPEG, {len(faces)} face found; median ms of {args.runs}, 1 thread\n")
    print("| step | ms |\n|---|---|")
    for name, call in steps.items():
        print(f"| {name} | {median_ms(call, args.runs):.3f} |")

    print_profile("detector", BUNDLED_BLAZEFACE, {session.get_inputs()[0].name: tensor}, args.runs)
    feed = {"face": crops[:1]}
    print_profile("classifier, batch 1", BUNDLED_MODEL, feed, args.runs)
    source = read_card(BUNDLED_MODEL).get("quantization", {}).get("source", {}).get("file")
    if source:
        print_profile("its float32 source, batch 1", BUNDLED_MODEL.parent / source, feed, args.runs)


def partial_run(session: ort.InferenceSession, tensor: np.ndarray) -> Callable[[], object]:
    """One call of ``session`` on ``tensor`` (its first input)."""
    name = session.get_inputs()[0].name
    return lambda: session.run(None, {name: tensor})


if __name__ == "__main__":
    main()
