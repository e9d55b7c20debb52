"""Small FER-2013-layout data sets of real faces, for training tests and the compose smoke test."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np

from devtools.paths import EMOTION_FOLDERS, FER_DATA
from devtools.photos import sample_photo


def _synthetic_faces_source(count: int, seed: int) -> list[np.ndarray]:
    """Real photo crops (48x48 gray) from scikit-image samples, when FER-2013 is absent."""
    rng = np.random.default_rng(seed)
    sources = [
        cv2.cvtColor(sample_photo(n), cv2.COLOR_BGR2GRAY)
        for n in ("astronaut", "chelsea", "coffee")
    ]
    sources.append(sample_photo("camera"))
    crops = []
    for _ in range(count):
        image = sources[rng.integers(len(sources))]
        side = int(rng.integers(60, min(image.shape[:2])))
        y = int(rng.integers(0, image.shape[0] - side))
        x = int(rng.integers(0, image.shape[1] - side))
        crops.append(
            cv2.resize(image[y : y + side, x : x + side], (48, 48), interpolation=cv2.INTER_AREA)
        )
    return crops


def write_fer_folder(
    root: Path, per_class: int, splits: tuple[str, ...] = ("train", "val")
) -> Path:
    """A FER-2013-layout folder of real JPEGs: from ../shared when there, else photo crops."""
    for split_no, split in enumerate(splits):
        for class_no, emotion in enumerate(EMOTION_FOLDERS):
            target = root / split / emotion
            target.mkdir(parents=True, exist_ok=True)
            source = FER_DATA / split / emotion
            if source.is_dir():
                for f in sorted(source.iterdir())[:per_class]:
                    shutil.copy(f, target / f.name)
            else:
                for i, crop in enumerate(
                    _synthetic_faces_source(per_class, 100 * split_no + class_no)
                ):
                    cv2.imwrite(str(target / f"{split}_{i}.jpg"), crop)
    return root
