"""Where things are for the test suite, and what ../shared provides on this machine."""

from __future__ import annotations

import pytest

from devtools.paths import EMOTION_FOLDERS, FER_DATA, ROOT, SHARED

__all__ = ["EMOTION_FOLDERS", "FER_DATA", "HAS_IMAGENET_WEIGHTS", "KERAS_WEIGHTS", "ROOT", "SHARED"]

FERPLUS_VOTES = SHARED / "data" / "ferplus" / "labels.csv"
KERAS_WEIGHTS = SHARED / "weights" / "keras"
HAS_IMAGENET_WEIGHTS = (KERAS_WEIGHTS / "models" / "mobilenet_1_0_224_tf_no_top.h5").is_file()

needs_fer_data = pytest.mark.skipif(
    not (FER_DATA / "train").is_dir(),
    reason=f"FER-2013 data not found at {FER_DATA} (../shared is only on the project's machines)",
)

needs_ferplus = pytest.mark.skipif(
    not (FER_DATA / "train").is_dir() or not FERPLUS_VOTES.is_file(),
    reason=f"FER-2013 or FER+ votes not found under {SHARED} (only on the project's machines)",
)
