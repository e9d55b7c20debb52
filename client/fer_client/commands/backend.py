"""Where the commands send their images: a service (``Client``) or this process
(``LocalAnalyzer``, ``--local``); both have the same methods."""

from __future__ import annotations

import argparse
from typing import Any, TypeAlias

from fer_client.client import Client
from fer_client.local import LocalAnalyzer

Backend: TypeAlias = Client | LocalAnalyzer


def open_backend(args: argparse.Namespace) -> Backend:
    """``LocalAnalyzer`` with ``--local``, else ``Client`` for ``--url``."""
    return LocalAnalyzer() if args.local else Client(args.url, args.api_key)


def limits(args: argparse.Namespace) -> dict[str, Any]:
    """``--max-faces`` and ``--min-face-size`` as the methods' keyword arguments."""
    return {"max_faces": args.max_faces, "min_face_size": args.min_face_size}


def frame_time(backend: Backend, fps: float | None) -> dict[str, Any]:
    """``stream``'s ``fps`` for a recorded source, where frame time is the backend's to choose
    (in-process; a service times frames as they arrive)."""
    return {"fps": fps} if isinstance(backend, LocalAnalyzer) else {}
