"""``fer-client webcam``: a camera's frames with their faces, in a window where there is a
display (OpenCV with GUI support), else as CSV rows."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections import deque
from collections.abc import Iterator

import cv2
import numpy as np
from tqdm import tqdm

from fer_client.annotate import draw_faces
from fer_client.commands.backend import Backend, limits, open_backend
from fer_client.commands.outputs import text_output
from fer_client.frames import LiveCamera, VideoFrame
from fer_client.results import FrameStatus
from fer_client.table import csv_writer, frame_columns, frame_rows

WINDOW = "fer-client"
QUIT_KEYS = {ord("q"), 27}  # q, Esc


def window_available() -> bool:
    """True when a display is set and this OpenCV build can open windows (the headless
    wheel cannot)."""
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return False
    try:
        cv2.namedWindow(WINDOW, cv2.WINDOW_AUTOSIZE)
    except cv2.error:
        return False
    return True


def run(args: argparse.Namespace) -> int:
    """Show or record the camera until q/Esc, Ctrl-C, ``--frames`` or ``--seconds``."""
    window = not args.no_window and window_available()
    if not window and not args.no_window and not args.quiet:
        print(
            "fer-client: no window (no display, or a headless OpenCV); writing CSV rows",
            file=sys.stderr,
        )
    device: str | int = int(args.device) if args.device.isdigit() else args.device
    backend = open_backend(args)
    try:
        labels = backend.labels()
        camera = LiveCamera(device, args.frames, args.seconds)
        try:
            asyncio.run(_show(args, camera, backend, labels, window))
        finally:
            camera.stop()
            if window:
                cv2.destroyAllWindows()
    finally:
        backend.close()
    return 0


async def _show(
    args: argparse.Namespace, camera: LiveCamera, backend: Backend, labels: list[str], window: bool
) -> None:
    sent: deque[VideoFrame] = deque()

    def frames() -> Iterator[np.ndarray]:
        for frame in camera:
            sent.append(frame)
            yield frame.image

    csv_path = args.csv if args.csv or window else "-"
    with text_output(csv_path) as out, tqdm(unit="frame", disable=args.quiet) as bar:
        table = csv_writer(out, frame_columns(labels)) if out is not None else None
        options = dict(args.stream_option)
        stream = backend.stream(frames(), in_flight=args.in_flight, options=options, **limits(args))
        async for result in stream:
            frame = sent.popleft()
            if table is not None:
                table.writerows(frame_rows(frame.index, frame.time_s, result, labels))
            bar.update()
            if window and result.status is not FrameStatus.DROPPED:
                cv2.imshow(WINDOW, draw_faces(frame.image, result.faces))
                if cv2.waitKey(1) & 0xFF in QUIT_KEYS:
                    break
