"""Measure how FER-2013 crops relate to a detector's face boxes.

FER-2013 faces were cut from photos by a detector. The service crops what its own detector
finds, so the crop must be framed like a FER face. This script puts FER val faces on a plain
canvas, runs the service's detector and prints the box side as a share of the FER crop side and
the crop centre's offset from the box centre:

- Haar: the share gives the crop margin stored in the classifier's metadata,
  margin per side = (1 / share - 1) / 2;
- BlazeFace, YuNet: share and offset are the model file's ``framing`` metadata, written by its
  converter (``converters/blazeface.py``, ``converters/yunet.py``).

    python scripts/measure_crop_margin.py ../shared/data/fer2013/val --detector yunet
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from service.config import Settings
from service.detectors import FaceDetector, build_detector

UPSCALE = 192  # the cascade's 24 px window needs a larger face than 48 px


def main(folder: Path, detector_name: Literal["blazeface", "yunet", "haar"], step: int = 6) -> None:
    """Print the median box share, centre offset and implied margin for every ``step``-th face."""
    detector: FaceDetector = build_detector(Settings(detector=detector_name))
    files = sorted(folder.glob("*/*.jpg"))[::step]
    shares, shifts = [], []
    for path in files:
        image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if image is None:
            raise SystemExit(f"cannot read {path}")
        face = cv2.resize(image, (UPSCALE, UPSCALE))
        pad = UPSCALE // 2
        canvas = cv2.copyMakeBorder(face, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=128)
        boxes = detector.detect(canvas, 60, 5)
        if len(boxes) == 1:
            box = boxes[0]
            side = max(box.w, box.h)
            shares.append(side / UPSCALE)
            # where the FER crop centre lies relative to the box centre, in box heights
            shifts.append((pad + UPSCALE / 2 - (box.y + box.h / 2)) / box.h)
    share = float(np.median(shares))
    print(f"detector {detector.name}: faces {len(files)}, one box found in {len(shares)}")
    print(f"median box side / FER crop side: {share:.3f}")
    print(f"median crop centre below box centre: {float(np.median(shifts)):.3f} box heights")
    print(f"implied crop margin per side: {(1 / share - 1) / 2:.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, nargs="?", default=Path("../shared/data/fer2013/val"))
    parser.add_argument("--detector", choices=("haar", "blazeface", "yunet"), default="haar")
    args = parser.parse_args()
    main(args.folder, args.detector)
