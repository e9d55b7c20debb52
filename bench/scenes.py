"""A labelled face-detection set built from real photographs: 640x480 scenes with known faces.

Faces come from real photos with hand-checked face boxes (scikit-image's astronaut, public
domain NASA; the official portraits in the ``face_recognition`` 1.3.0 source package's test
images, MIT-licensed package, US-government public-domain photos) and from FER-2013 val faces.
Each face is rotated by up to +-30 degrees, scaled to 30-300 px, feathered into a background
photo from scikit-image (no faces in them) at a random place. Frames without faces measure
false positives. Everything is seeded, so a run rebuilds the same set.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from skimage import data as samples

FRAME_W, FRAME_H = 640, 480
BACKGROUNDS = ("coffee", "chelsea", "rocket", "coins", "brick", "grass", "gravel",
               "hubble_deep_field", "page", "text", "horse", "moon", "clock",
               "immunohistochemistry", "colorwheel", "cell")  # fmt: skip
FACE_RECOGNITION_SDIST = "face_recognition==1.3.0"
# Face boxes (x, y, side) in the source photos, checked by eye: eyebrows to chin.
PHOTO_FACES = {
    "astronaut": (174, 74, 104),
    "biden.jpg": (423, 264, 292),
    "obama.jpg": (358, 155, 262),
    "obama2.jpg": (189, 312, 296),
    "obama3.jpg": (632, 350, 269),
}


@dataclass(frozen=True)
class TrueFace:
    """A placed face: centre and side in frame pixels, rotation, and (FER faces) its label."""

    cx: float
    cy: float
    side: float
    angle: float
    label: int | None = None


@dataclass
class Scene:
    """One grayscale 640x480 frame and the faces placed in it."""

    gray: np.ndarray
    faces: list[TrueFace] = field(default_factory=list)


def source_photos(cache: Path) -> dict[str, np.ndarray]:
    """Grayscale source photos by name: the astronaut, plus the face_recognition portraits when
    pip can fetch that source package (it is cached under ``cache``)."""
    photos = {"astronaut": cv2.cvtColor(samples.astronaut(), cv2.COLOR_RGB2GRAY)}
    folder = cache / "face_recognition-1.3.0" / "tests" / "test_images"
    if not folder.is_dir():
        cache.mkdir(parents=True, exist_ok=True)
        fetched = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--no-binary",
                ":all:",
                "--dest",
                str(cache),
                FACE_RECOGNITION_SDIST,
            ],  # fmt: skip
            capture_output=True,
        )
        archive = cache / "face_recognition-1.3.0.tar.gz"
        if fetched.returncode != 0 or not archive.is_file():
            print("note: face_recognition sdist not available; astronaut photo only")
            return photos
        with tarfile.open(archive) as tar:
            members = [m for m in tar.getmembers() if "/tests/test_images/" in m.name]
            tar.extractall(cache, members=members, filter="data")
    for name in PHOTO_FACES:
        if name != "astronaut":
            image = cv2.imread(str(folder / name), cv2.IMREAD_GRAYSCALE)
            if image is not None:
                photos[name] = image
    return photos


def backgrounds() -> list[np.ndarray]:
    """Face-free grayscale photos from scikit-image."""
    found = []
    for name in BACKGROUNDS:
        image = getattr(samples, name)()
        if image.ndim == 3:
            image = cv2.cvtColor(image[..., :3], cv2.COLOR_RGB2GRAY)
        found.append(image.astype(np.uint8))
    return found


def background_frame(rng: np.random.Generator, pool: list[np.ndarray]) -> np.ndarray:
    """A random background, randomly cropped and resized to 640x480."""
    image = pool[rng.integers(len(pool))]
    h, w = image.shape
    share = rng.uniform(0.6, 1.0)
    ch, cw = max(8, int(h * share)), max(8, int(w * share))
    y, x = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
    return cv2.resize(image[y : y + ch, x : x + cw], (FRAME_W, FRAME_H))


def _patch(
    source: np.ndarray,
    cx: float,
    cy: float,
    side: float,
    angle: float,
    out_side: float,
    context: float,
) -> np.ndarray:
    """A square patch ``context`` times the face, centred on it, rotated by ``angle`` degrees
    (counter-clockwise) and scaled so the face is ``out_side`` pixels."""
    size = max(4, round(out_side * context))
    matrix = cv2.getRotationMatrix2D((cx, cy), angle, out_side / side)
    matrix[0, 2] += size / 2 - cx
    matrix[1, 2] += size / 2 - cy
    flags = cv2.INTER_AREA if out_side < side else cv2.INTER_LINEAR
    return cv2.warpAffine(source, matrix, (size, size), flags=flags, borderMode=cv2.BORDER_REFLECT)


def _mask(size: int, kind: str) -> np.ndarray:
    """Feathered alpha: an ellipse (head and hair of a photo) or a rounded square (FER crop)."""
    mask = np.zeros((size, size), np.float32)
    c = size / 2
    if kind == "ellipse":
        cv2.ellipse(mask, (round(c), round(c)), (round(size * 0.36), round(size * 0.45)), 0, 0,
                    360, 1.0, -1)  # fmt: skip
    else:
        inset = round(size * 0.04)
        mask[inset : size - inset, inset : size - inset] = 1.0
    blur = max(3, (size // 10) | 1)
    return cv2.GaussianBlur(mask, (blur, blur), 0)


def place(frame: np.ndarray, patch: np.ndarray, alpha: np.ndarray, x: int, y: int) -> None:
    """Alpha-blend ``patch`` into ``frame`` with its top-left corner at (x, y)."""
    h, w = patch.shape
    region = frame[y : y + h, x : x + w].astype(np.float32)
    frame[y : y + h, x : x + w] = (alpha * patch + (1 - alpha) * region).astype(np.uint8)


def _free_spot(
    rng: np.random.Generator, size: int, taken: list[tuple[int, int, int]]
) -> tuple[int, int] | None:
    """A top-left corner where a ``size`` square fits the frame and overlaps no other patch."""
    for _ in range(50):
        x = int(rng.integers(0, FRAME_W - size + 1))
        y = int(rng.integers(0, FRAME_H - size + 1))
        if all(x + size <= tx or tx + ts <= x or y + size <= ty or ty + ts <= y
               for tx, ty, ts in taken):  # fmt: skip
            return x, y
    return None


def face_size(rng: np.random.Generator, low: float = 30, high: float = 300) -> float:
    """Face side in pixels, log-uniform so small faces are as common as large ones."""
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def photo_scenes(photos: dict[str, np.ndarray], count: int, empty: int, seed: int) -> list[Scene]:
    """``count`` frames with 1-3 photo faces each, then ``empty`` frames with none."""
    rng = np.random.default_rng(seed)
    pool = backgrounds()
    names = sorted(photos)
    scenes = []
    for _ in range(count):
        scene = Scene(background_frame(rng, pool))
        taken: list[tuple[int, int, int]] = []
        for _ in range(int(rng.integers(1, 4))):
            name = names[rng.integers(len(names))]
            x0, y0, side = PHOTO_FACES[name]
            out_side = face_size(rng, 30, 300) if not taken else face_size(rng, 30, 150)
            angle = float(rng.uniform(-30, 30))
            patch = _patch(photos[name], x0 + side / 2, y0 + side / 2, side, angle, out_side, 1.6)
            spot = _free_spot(rng, patch.shape[0], taken)
            if spot is None:
                continue
            place(scene.gray, patch, _mask(patch.shape[0], "ellipse"), *spot)
            taken.append((*spot, patch.shape[0]))
            half = patch.shape[0] / 2
            scene.faces.append(TrueFace(spot[0] + half, spot[1] + half, out_side, angle))
        scenes.append(scene)
    scenes += [Scene(background_frame(rng, pool)) for _ in range(empty)]
    return scenes


def fer_scenes(faces: list[tuple[np.ndarray, int]], seed: int) -> list[Scene]:
    """One FER-2013 face per frame: rotated, scaled to 40-300 px, feathered into a background."""
    rng = np.random.default_rng(seed)
    pool = backgrounds()
    scenes = []
    for face, label in faces:
        scene = Scene(background_frame(rng, pool))
        out_side = face_size(rng, 40, 300)
        angle = float(rng.uniform(-30, 30))
        # The 48 px crop is the face with FER's margin; replicated edges give the rotation context.
        padded = cv2.copyMakeBorder(face, 24, 24, 24, 24, cv2.BORDER_REPLICATE)
        patch = _patch(padded, 48.0, 48.0, 48.0, angle, out_side, 1.15)
        spot = _free_spot(rng, patch.shape[0], [])
        assert spot is not None  # one patch of at most 345 px always fits 640x480
        place(scene.gray, patch, _mask(patch.shape[0], "square"), *spot)
        half = patch.shape[0] / 2
        scene.faces.append(TrueFace(spot[0] + half, spot[1] + half, out_side, angle, label))
        scenes.append(scene)
    return scenes
