"""The field cases kept as test files (tests/field_cases/, their right answers in its README)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

FIELD_CASES = Path(__file__).resolve().parents[1] / "field_cases"


def read(path: Path, flags: int = cv2.IMREAD_COLOR) -> np.ndarray:
    """A field-case image, which must decode."""
    image = cv2.imread(str(path), flags)
    assert image is not None, path
    return image
