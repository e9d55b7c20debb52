"""Real photographs shipped with scikit-image (public domain), for tests and benchmarks."""

from __future__ import annotations

import cv2
import numpy as np


def sample_photo(name: str) -> np.ndarray:
    """A real photograph shipped with scikit-image, as BGR uint8."""
    from skimage import data

    rgb = getattr(data, name)()
    if rgb.ndim == 2:
        return rgb
    return cv2.cvtColor(rgb[..., :3], cv2.COLOR_RGB2BGR)
