"""``fer-client video FILE --csv OUT``: every frame (or every Nth) to CSV, optionally an
annotated copy and a plot of emotions over time.

Frames flow through: decode (worker thread) -> stream -> CSV row and annotated frame, so only
the frames between a sent frame and its answer are held (``in_flight`` x ``--every``, a few).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import time
from collections import Counter, deque
from collections.abc import Iterator

import numpy as np
from tqdm import tqdm

from fer_client.annotate import AnnotatedVideo, draw_faces
from fer_client.commands.backend import Backend, frame_time, limits, open_backend
from fer_client.frames import VideoFile, VideoFrame
from fer_client.plot import plot_emotions, pyplot
from fer_client.results import Face, FrameResult, FrameStatus
from fer_client.table import csv_writer, frame_columns, frame_rows


class _Annotator:
    """Writes every frame of the source, in order, with the newest answer known for it: a
    frame between two analysed ones (``--every``) or a dropped one shows the last faces."""

    def __init__(self, output: AnnotatedVideo) -> None:
        self.output = output
        self.held: deque[VideoFrame] = deque()  # appended by the decoding thread
        self.faces: list[Face] = []

    async def answered(self, index: int, result: FrameResult) -> None:
        """Write the held frames up to ``index`` (that frame with ``result``)."""
        while self.held and self.held[0].index < index:
            await self._write(self.held.popleft(), "")
        if result.status is FrameStatus.OK:
            self.faces = result.faces
        note = "" if result.status is FrameStatus.OK else result.status.value
        if self.held and self.held[0].index == index:
            await self._write(self.held.popleft(), note)

    async def finish(self) -> None:
        while self.held:
            await self._write(self.held.popleft(), "")
        self.output.close()

    async def _write(self, frame: VideoFrame, note: str) -> None:
        image = draw_faces(frame.image, self.faces, note)
        await asyncio.to_thread(self.output.write, image)


def run(args: argparse.Namespace) -> int:
    """Analyse the video; writes the CSV (and the annotated video and plot when asked)."""
    source = VideoFile(args.file)
    if args.plot:
        pyplot()  # a missing matplotlib should stop us before the video, not after it
    backend = open_backend(args)
    try:
        labels = backend.labels()
        counts, seconds = asyncio.run(_analyse(args, source, backend, labels))
    finally:
        backend.close()
    if args.plot:
        plot_emotions(args.csv, args.plot, labels)
    if not args.quiet:
        sent = sum(counts[s] for s in FrameStatus)
        print(
            f"{args.file}: {sent} frames analysed in {seconds:.1f} s ({sent / seconds:.1f}/s): "
            f"{counts[FrameStatus.OK]} answered, {counts[FrameStatus.DROPPED]} dropped, "
            f"{counts[FrameStatus.FAILED]} failed; {counts['faces']} faces",
            file=sys.stderr,
        )
    return 0


async def _analyse(
    args: argparse.Namespace, source: VideoFile, backend: Backend, labels: list[str]
) -> tuple[Counter[object], float]:
    annotator = (
        _Annotator(AnnotatedVideo(args.annotate, source.fps, source.width, source.height))
        if args.annotate
        else None
    )
    sent: deque[VideoFrame] = deque()  # frames sent and not yet answered, in order

    def frames() -> Iterator[np.ndarray]:  # runs on a worker thread
        for frame in source:
            if annotator is not None:
                annotator.held.append(frame)
            if frame.index % args.every == 0:
                sent.append(frame)
                yield frame.image

    counts: Counter[object] = Counter()
    total = math.ceil(source.frame_count / args.every) if source.frame_count > 0 else None
    started = time.perf_counter()
    with (
        open(args.csv, "w", newline="", encoding="utf-8") as out,
        tqdm(total=total, unit="frame", disable=args.quiet, smoothing=0.1) as bar,
    ):
        table = csv_writer(out, frame_columns(labels))
        options = dict(args.stream_option)
        fps = source.fps / args.every if source.fps else None
        stream = backend.stream(
            frames(), in_flight=args.in_flight, all_frames=args.all_frames, options=options,
            **limits(args), **frame_time(backend, fps),
        )  # fmt: skip
        async for result in stream:
            frame = sent.popleft()
            table.writerows(frame_rows(frame.index, frame.time_s, result, labels))
            counts[result.status] += 1
            counts["faces"] += len(result.faces)
            if annotator is not None:
                await annotator.answered(frame.index, result)
            bar.update()
        if annotator is not None:
            await annotator.finish()
    return counts, time.perf_counter() - started
