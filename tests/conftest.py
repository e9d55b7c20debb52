"""Fixtures shared by the whole suite: paths, real face images, a small FER-style data set."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
FER_DATA = SHARED / "data" / "fer2013"
KERAS_WEIGHTS = SHARED / "weights" / "keras"
HAS_IMAGENET_WEIGHTS = (KERAS_WEIGHTS / "models" / "mobilenet_1_0_224_tf_no_top.h5").is_file()
EMOTION_FOLDERS = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")

needs_fer_data = pytest.mark.skipif(
    not (FER_DATA / "train").is_dir(),
    reason=f"FER-2013 data not found at {FER_DATA} (../shared is only on the project's machines)",
)


def sample_photo(name: str) -> np.ndarray:
    """A real photograph shipped with scikit-image, as BGR uint8."""
    from skimage import data

    rgb = getattr(data, name)()
    if rgb.ndim == 2:
        return rgb
    return cv2.cvtColor(rgb[..., :3], cv2.COLOR_RGB2BGR)


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


@pytest.fixture(scope="session")
def small_fer_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """train/ and val/ with 24 real faces per class each."""
    return write_fer_folder(tmp_path_factory.mktemp("fer_small"), per_class=24)


# Keras reads KERAS_HOME when it is first imported, which may be while test modules are
# collected: set it here, at import of this conftest, not in a fixture.
if HAS_IMAGENET_WEIGHTS:
    os.environ.setdefault("KERAS_HOME", str(KERAS_WEIGHTS))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def start_service(
    *extra_args: str, env: dict[str, str] | None = None, log: Path | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """uvicorn serving the bundled model on a free port; returns once /readyz says ready.

    Output goes to a pipe the caller may read, or to ``log`` for long runs (a pipe nobody
    reads would fill up and stall the server).
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    output = log.open("wb") if log is not None else subprocess.PIPE
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "service.main:app", "--port", str(port), *extra_args],
        cwd=ROOT, stdout=output, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if urllib.request.urlopen(f"{url}/readyz", timeout=1).status == 200:
                return proc, url
        except OSError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            text = proc.stdout.read().decode() if proc.stdout else log.read_text() if log else ""
            raise RuntimeError(f"service did not start: {text}")
        time.sleep(0.2)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real service under uvicorn, on the bundled model; yields its URL."""
    proc, url = start_service(log=tmp_path_factory.mktemp("live") / "uvicorn.log")
    yield url
    proc.terminate()
    proc.wait(10)
