"""Where the commands send their images: a service (REST and stream) or this process."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any, Protocol

from fer_client.client import Client
from fer_client.errors import FerError
from fer_client.images import ImageInput
from fer_client.local import LocalAnalyzer
from fer_client.results import FrameResult, Prediction


class Backend(Protocol):
    """What every command needs: the labels, many images, a stream of frames."""

    def labels(self) -> list[str]: ...

    def predict_many(
        self, images: Iterable[ImageInput], concurrency: int
    ) -> Iterator[Prediction | FerError]: ...

    def stream(
        self,
        frames: Iterable[ImageInput],
        in_flight: int,
        all_frames: bool,
        options: dict[str, Any],
        fps: float | None = None,
    ) -> AsyncIterator[FrameResult]: ...

    def close(self) -> None: ...


class Remote:
    """The service at ``--url``."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.client = Client(args.url, args.api_key)
        self.limits = {"max_faces": args.max_faces, "min_face_size": args.min_face_size}

    def labels(self) -> list[str]:
        return self.client.labels()

    def predict_many(
        self, images: Iterable[ImageInput], concurrency: int
    ) -> Iterator[Prediction | FerError]:
        return self.client.predict_many(
            images, concurrency=concurrency, return_exceptions=True, **self.limits
        )

    def stream(
        self,
        frames: Iterable[ImageInput],
        in_flight: int,
        all_frames: bool,
        options: dict[str, Any],
        fps: float | None = None,
    ) -> AsyncIterator[FrameResult]:
        return self.client.stream(
            frames, in_flight=in_flight, all_frames=all_frames, options=options, **self.limits
        )

    def close(self) -> None:
        self.client.close()


class Local:
    """The pipeline in this process (``--local``), tracking faces like the service's stream."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.analyzer = LocalAnalyzer()
        self.limits = {"max_faces": args.max_faces, "min_face_size": args.min_face_size}

    def labels(self) -> list[str]:
        return list(self.analyzer.labels)

    def predict_many(
        self, images: Iterable[ImageInput], concurrency: int
    ) -> Iterator[Prediction | FerError]:
        return self.analyzer.analyze_many(
            images, workers=concurrency, return_exceptions=True, **self.limits
        )

    def stream(
        self,
        frames: Iterable[ImageInput],
        in_flight: int,
        all_frames: bool,
        options: dict[str, Any],
        fps: float | None = None,
    ) -> AsyncIterator[FrameResult]:
        # Every frame is analysed in turn (nothing to drop); tracked like the service's stream.
        return self.analyzer.stream(frames, options=options, fps=fps, **self.limits)

    def close(self) -> None:
        pass


def open_backend(args: argparse.Namespace) -> Backend:
    """``Local`` with ``--local``, else ``Remote``."""
    return Local(args) if args.local else Remote(args)
