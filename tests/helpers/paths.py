"""Where things are for the test suite, and what ../shared provides on this machine."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# ../shared beside the checkout, or where FER_SHARED points (a clone elsewhere).
SHARED = Path(os.environ.get("FER_SHARED", ROOT.parent / "shared"))
FER_DATA = SHARED / "data" / "fer2013"
FERPLUS_VOTES = SHARED / "data" / "ferplus" / "labels.csv"
KERAS_WEIGHTS = SHARED / "weights" / "keras"
HAS_IMAGENET_WEIGHTS = (KERAS_WEIGHTS / "models" / "mobilenet_1_0_224_tf_no_top.h5").is_file()
EMOTION_FOLDERS = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")

needs_fer_data = pytest.mark.skipif(
    not (FER_DATA / "train").is_dir(),
    reason=f"FER-2013 data not found at {FER_DATA} (../shared is only on the project's machines)",
)

needs_ferplus = pytest.mark.skipif(
    not (FER_DATA / "train").is_dir() or not FERPLUS_VOTES.is_file(),
    reason=f"FER-2013 or FER+ votes not found under {SHARED} (only on the project's machines)",
)
