"""Classifier cost per face: onnxruntime, batch 1 and batch 8, 1 and 2 threads; prints a table.

    python bench/classifier_latency.py [models/fer-mobilenet-64x2.onnx ...] [--runs 300]

Uses real FER-2013 val faces when ../shared/data/fer2013 exists, else face crops from a photo.
Quote medians: this machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

from service.config import BUNDLED_MODEL

ROOT = Path(__file__).resolve().parents[1]
FER_VAL = ROOT.parent / "shared" / "data" / "fer2013" / "val"


def faces(count: int, size: int) -> np.ndarray:
    """(count, size, size, 1) float32 real face crops."""
    files = sorted(FER_VAL.glob("*/*.jpg"))[:count]
    if files:
        crops = [np.asarray(cv2.imread(str(f), cv2.IMREAD_GRAYSCALE)) for f in files]
    else:
        from skimage import data

        gray = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY)[66:161, 177:272]
        crops = [gray] * count
    return np.stack([cv2.resize(c, (size, size)) for c in crops])[..., None].astype(np.float32)


def time_ms(session: ort.InferenceSession, batch: np.ndarray, runs: int) -> list[float]:
    """Wall time of each of ``runs`` calls, after 10 warm-up calls."""
    name = session.get_inputs()[0].name
    for _ in range(10):
        session.run(None, {name: batch})
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, {name: batch})
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def main() -> None:
    """Print one row per model, thread count and batch size."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("models", nargs="*", type=Path, default=[BUNDLED_MODEL])
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    print("| model | threads | batch | median ms/call | p90 ms/call | median ms/face |")
    print("|---|---|---|---|---|---|")
    for path in args.models:
        crop = int(ort.InferenceSession(str(path)).get_inputs()[0].shape[1])
        for threads in (1, 2):
            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            for batch in (1, 8):
                samples = time_ms(session, faces(batch, crop), args.runs)
                median = statistics.median(samples)
                p90 = statistics.quantiles(samples, n=10)[-1]
                print(
                    f"| {path.name} | {threads} | {batch} | {median:.2f} | {p90:.2f} "
                    f"| {median / batch:.2f} |"
                )


if __name__ == "__main__":
    main()
