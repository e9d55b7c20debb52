"""Frame sources: a video file read frame by frame, and a live camera that always offers its
newest frame. Both hold only the frame being handed out."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from fer_client.errors import InputError


@dataclass(frozen=True)
class VideoFrame:
    """One decoded frame: its index in the source (0-based), its time in seconds, BGR pixels."""

    index: int
    time_s: float
    image: np.ndarray


def _open(source: str | int) -> cv2.VideoCapture:
    capture = cv2.VideoCapture(source)
    if not capture.isOpened():
        what = f"camera {source}" if isinstance(source, int) else str(source)
        raise InputError(f"OpenCV cannot open {what}")
    return capture


class VideoFile:
    """A video decoded with OpenCV. ``fps``, ``frame_count`` (an estimate for some containers),
    ``width`` and ``height`` describe it; iterating yields every frame once.

    Raises InputError when the file cannot be opened or decoded.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        capture = _open(path)
        self.fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
        self.frame_count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        self.width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        self.height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        capture.release()

    def __iter__(self) -> Iterator[VideoFrame]:
        capture = _open(self.path)
        try:
            index = 0
            while True:
                ok, image = capture.read()
                if not ok:
                    break
                yield VideoFrame(index, index / self.fps, image)
                index += 1
        finally:
            capture.release()
        if index == 0:
            raise InputError(f"{self.path}: no frame could be decoded")


class LiveCamera:
    """A camera (device number) or live URL, read continuously on a thread; iterating yields
    the newest frame not yet handed out (frames the consumer was too slow for are skipped, as
    a live overlay wants). Stops after ``max_frames`` or ``seconds``, or when ``stop()``.

    Raises InputError when the source cannot be opened.
    """

    def __init__(
        self, source: str | int, max_frames: int | None = None, seconds: float | None = None
    ) -> None:
        self.source = source
        self.max_frames = max_frames
        self.seconds = seconds
        self._capture = _open(source)
        fps = self._capture.get(cv2.CAP_PROP_FPS)
        # A file given as the "camera" (tests, replays) is paced at its own frame rate.
        is_file = self._capture.get(cv2.CAP_PROP_FRAME_COUNT) > 0
        self._pace = 1.0 / fps if is_file and fps > 0 else 0.0
        self._newest: VideoFrame | None = None
        self._fresh = threading.Condition()
        self._stopped = threading.Event()
        self._ended = False
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._grab, name="fer-client-camera", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop reading and release the camera."""
        self._stopped.set()
        with self._fresh:
            self._fresh.notify_all()
        self._thread.join(5)

    def _grab(self) -> None:
        index = 0
        try:
            while not self._stopped.is_set():
                ok, image = self._capture.read()
                if not ok:
                    break
                frame = VideoFrame(index, time.monotonic() - self._started, image)
                with self._fresh:
                    self._newest = frame
                    self._fresh.notify_all()
                index += 1
                if self._pace:
                    time.sleep(self._pace)
        finally:
            self._capture.release()
            with self._fresh:
                self._ended = True
                self._fresh.notify_all()

    def __iter__(self) -> Iterator[VideoFrame]:
        handed = 0
        while self.max_frames is None or handed < self.max_frames:
            if self.seconds is not None and time.monotonic() - self._started > self.seconds:
                return
            with self._fresh:
                while self._newest is None and not self._ended and not self._stopped.is_set():
                    self._fresh.wait(0.5)
                frame, self._newest = self._newest, None
            if frame is None:
                return
            handed += 1
            yield frame
