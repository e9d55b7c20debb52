"""Time the `fer` package (the peer users would pick instead) in-process on one JPEG frame.

    .venv-fer/bin/python bench/fer_peer.py FRAME.jpg [--seconds 8]
    .venv-fer/bin/python bench/fer_peer.py --boxes DIR   # every image of DIR once: boxes, ms

Runs in the peer's own virtual environment (``make peer-venv``: fer 25.10.3, tensorflow-cpu
2.21.0), so it imports nothing from this project. Each iteration decodes the JPEG bytes with
OpenCV and calls ``FER().detect_emotions`` (its default OpenCV Haar detector, then its
mini-Xception classifier): the same work as one of our ``POST /v1/predict`` requests, minus HTTP.
Prints one JSON object: frames per second, median and p99 ms per frame, faces found; with
``--boxes``, per image file (sorted by name, after one warm-up call): its boxes and ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from importlib.metadata import version
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from fer.fer import FER  # noqa: E402


def boxes_of(detector: FER, folder: Path) -> dict[str, object]:
    """Each image of ``folder`` decoded and analysed once: {"peer", "images": {name: {"ms",
    "boxes": [[x, y, w, h], ...]}}}."""
    files = sorted(p for p in folder.iterdir() if p.suffix in (".png", ".jpg"))
    images: dict[str, object] = {}
    for i, path in enumerate(files):
        data = np.frombuffer(path.read_bytes(), np.uint8)
        if i == 0:
            detector.detect_emotions(cv2.imdecode(data, cv2.IMREAD_COLOR))
        start = time.perf_counter()
        faces = detector.detect_emotions(cv2.imdecode(data, cv2.IMREAD_COLOR))
        ms = 1000 * (time.perf_counter() - start)
        images[path.name] = {"ms": ms, "boxes": [[int(v) for v in f["box"]] for f in faces]}
    return {"peer": f"fer {version('fer')} (tensorflow {version('tensorflow-cpu')})",
            "images": images}  # fmt: skip


def main() -> None:
    """Warm up, then run back to back for ``--seconds``; print the JSON result."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("frame", type=Path, nargs="?", help="a JPEG file")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--boxes", type=Path, help="a folder of images: boxes and ms of each")
    args = parser.parse_args()
    detector = FER()
    if args.boxes is not None:
        print(json.dumps(boxes_of(detector, args.boxes)))
        return
    data = np.frombuffer(args.frame.read_bytes(), np.uint8)
    for _ in range(3):
        detector.detect_emotions(cv2.imdecode(data, cv2.IMREAD_COLOR))
    times: list[float] = []
    faces = 0
    end = time.perf_counter() + args.seconds
    while time.perf_counter() < end:
        start = time.perf_counter()
        faces = len(detector.detect_emotions(cv2.imdecode(data, cv2.IMREAD_COLOR)))
        times.append(time.perf_counter() - start)
    print(
        json.dumps(
            {
                "peer": f"fer {version('fer')} (tensorflow {version('tensorflow-cpu')})",
                "frames": len(times),
                "frames_per_s": len(times) / sum(times),
                "median_ms": 1000 * statistics.median(times),
                "p99_ms": 1000 * float(np.percentile(times, 99)),
                "faces": faces,
            }
        )
    )


if __name__ == "__main__":
    main()
