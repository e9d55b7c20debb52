"""Test media made from real photographs: a short video with moving faces, one of which
leaves the frame, and a folder of photos with and without faces."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from devtools.photos import sample_photo

WIDTH, HEIGHT, FPS = 640, 480, 30.0


def _heads() -> tuple[np.ndarray, np.ndarray]:
    """The astronaut's head and shoulders, and a mirrored smaller copy (two faces)."""
    astronaut = sample_photo("astronaut")
    head = cv2.resize(astronaut[0:300, 100:350], (150, 180))
    other = cv2.resize(cv2.flip(astronaut[0:300, 100:350], 1), (125, 150))
    return head, other


def clip_frame(index: int, frames: int) -> np.ndarray:
    """Frame ``index`` of the clip: face A walks from left to right across a face-free photo;
    face B drifts right and has left the frame by two thirds of the clip."""
    background = cv2.resize(sample_photo("coffee"), (WIDTH, HEIGHT))
    head, other = _heads()
    t = index / max(frames - 1, 1)
    frame = background.copy()
    ax, ay = int(20 + t * 260), 150 + int(20 * np.sin(6 * t))
    frame[ay : ay + head.shape[0], ax : ax + head.shape[1]] = head
    bx, by = int(430 + t * 1.5 * 320), 60
    visible = min(other.shape[1], WIDTH - bx)
    if visible > 0:
        frame[by : by + other.shape[0], bx : bx + visible] = other[:, :visible]
    return frame


def write_clip(path: Path, frames: int) -> Path:
    """An MP4 (mp4v) of ``frames`` 640x480 frames at 30 fps."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), FPS, (WIDTH, HEIGHT))
    assert writer.isOpened()
    for i in range(frames):
        writer.write(clip_frame(i, frames))
    writer.release()
    return path


def decode_all(path: Path) -> list[np.ndarray]:
    """Every frame of a video, decoded with OpenCV."""
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


def write_photo_folder(root: Path) -> dict[str, int]:
    """Photos with and without faces, nested, plus a file that is not an image and a broken
    JPEG; returns the image files (relative) and their face counts (-1: broken)."""
    astronaut = sample_photo("astronaut")
    (root / "nested" / "deeper").mkdir(parents=True)
    cv2.imwrite(str(root / "astronaut.jpg"), astronaut)
    cv2.imwrite(str(root / "coffee.png"), sample_photo("coffee"))
    cv2.imwrite(str(root / "nested" / "chelsea.bmp"), sample_photo("chelsea"))
    head = cv2.resize(astronaut[0:300, 100:350], (250, 300))
    canvas = np.full((400, 1200, 3), 90, np.uint8)
    for i in range(3):
        canvas[50:350, 100 + i * 375 : 350 + i * 375] = head
    cv2.imwrite(str(root / "nested" / "deeper" / "three.webp"), canvas)
    (root / "notes.txt").write_text("not an image\n")
    (root / "nested" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    return {
        "astronaut.jpg": 1,
        "coffee.png": 0,
        "nested/broken.jpg": -1,
        "nested/chelsea.bmp": 0,
        "nested/deeper/three.webp": 3,
    }
