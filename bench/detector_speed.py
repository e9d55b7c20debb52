"""Haar detection time on a 640x480 frame per downscale setting; prints a table.

    python bench/detector_speed.py [--runs 30]

The frame holds one real face photo (scikit-image's astronaut, face about 70 px wide), the
service's HaarDetector runs on one OpenCV thread as the service does by default.
"""

from __future__ import annotations

import argparse
import statistics
import time

import cv2
import numpy as np
from skimage import data

from service.faces import HaarDetector


def frame() -> np.ndarray:
    """640x480 grayscale frame with one face."""
    photo = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY)
    canvas = np.full((480, 640), 110, np.uint8)
    canvas[60:420, 140:500] = cv2.resize(photo, (360, 360))
    return canvas


def main() -> None:
    """Median ms and faces found for each max side and scale factor."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    gray = frame()
    print("| max side | scale factor | median ms | faces found |")
    print("|---|---|---|---|")
    for side in (640, 480, 400, 320):
        for scale_factor in (1.1, 1.2):
            detector = HaarDetector(side, scale_factor, 5)
            times, found = [], []
            for _ in range(args.runs):
                start = time.perf_counter()
                found = detector.detect(gray, 24, 20)
                times.append((time.perf_counter() - start) * 1000)
            print(f"| {side} | {scale_factor} | {statistics.median(times):.1f} | {len(found)} |")


if __name__ == "__main__":
    main()
