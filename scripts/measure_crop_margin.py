"""Measure how FER-2013 crops relate to the service's Haar face boxes.

FER-2013 faces were cut from photos by a detector. The service crops what its own detector
finds, so the crop margin stored in the model metadata should make the two agree. This script
puts FER val faces on a plain canvas, runs the Haar cascade the service uses and prints the box
side as a share of the FER crop side: margin per side = (1 / share - 1) / 2.

    python scripts/measure_crop_margin.py ../shared/data/fer2013/val
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

UPSCALE = 192  # the cascade's 24 px window needs a larger face than 48 px


def main(folder: Path, step: int = 6) -> None:
    """Print the median box share and the implied margin for every ``step``-th face."""
    cascade_dir = cv2.data.haarcascades  # type: ignore[attr-defined]
    cascade = cv2.CascadeClassifier(cascade_dir + "haarcascade_frontalface_default.xml")
    files = sorted(folder.glob("*/*.jpg"))[::step]
    shares = []
    for path in files:
        image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if image is None:
            raise SystemExit(f"cannot read {path}")
        face = cv2.resize(image, (UPSCALE, UPSCALE))
        pad = UPSCALE // 2
        canvas = cv2.copyMakeBorder(face, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=128)
        boxes = cascade.detectMultiScale(canvas, 1.1, 5, minSize=(60, 60))
        if len(boxes) == 1:
            shares.append(boxes[0][2] / UPSCALE)
    share = float(np.median(shares))
    print(f"faces {len(files)}, one box found in {len(shares)}")
    print(f"median box side / FER crop side: {share:.3f}")
    print(f"implied crop margin per side: {(1 / share - 1) / 2:.3f}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/fer2013/val"))
