"""fer-client: images, folders, videos and webcams, against a service or in-process.

Every subcommand takes ``--url`` and ``--api-key`` (or ``FER_URL`` / ``FER_API_KEY``); errors are
one line on stderr and a non-zero exit status.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from fer_client.client import DEFAULT_URL
from fer_client.errors import FerError


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _option(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    from fer_client.commands import images, video, webcam

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--url", default=os.environ.get("FER_URL", DEFAULT_URL), help="the service (%(default)s)"
    )
    common.add_argument(
        "--api-key", default=os.environ.get("FER_API_KEY"), help="key, when the service wants one"
    )
    common.add_argument(
        "--local", action="store_true", help="analyse in this process (needs fer-service)"
    )
    common.add_argument("--max-faces", type=_positive, help="most faces per image or frame")
    common.add_argument("--min-face-size", type=_positive, help="smallest face side, pixels")
    common.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    stream = argparse.ArgumentParser(add_help=False)
    stream.add_argument(
        "--in-flight", type=_positive, default=2,
        help="frames sent ahead of their answers (2 keeps the server busy; 1: least latency)",
    )  # fmt: skip
    stream.add_argument(
        "--stream-option", type=_option, action="append", default=[], metavar="KEY=VALUE",
        help="a stream option sent before the first frame (e.g. half_life_ms=400); repeatable",
    )  # fmt: skip

    parser = argparse.ArgumentParser(prog="fer-client", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("image", parents=[common], help="every face of images and folders")
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders (recursive)")
    p.add_argument("--json", metavar="OUT", help="JSON lines, one per image ('-': stdout)")
    p.add_argument("--csv", metavar="OUT", help="CSV, one row per face ('-': stdout)")
    p.add_argument("--concurrency", type=_positive, default=4, help="requests at a time")
    p.add_argument(
        "--crops", action="store_true",
        help="every file is one already-cropped face: classify it whole, no face detection",
    )  # fmt: skip
    p.add_argument(
        "--batch", type=_positive, default=32,
        help="--crops: crops per request, one model batch each (at most the service's "
        "FER_MAX_CROPS; default %(default)s)",
    )  # fmt: skip
    p.add_argument(
        "-v", "--verbose", action="store_true", help="name the files in folders that are skipped"
    )
    p.set_defaults(run=images.run)

    p = commands.add_parser(
        "video", parents=[common, stream], help="a video file: CSV, annotated video, plot"
    )
    p.add_argument("file", help="any video OpenCV decodes")
    p.add_argument("--csv", required=True, metavar="OUT", help="one row per frame and face")
    p.add_argument("--annotate", metavar="OUT.mp4", help="the video with boxes and labels")
    p.add_argument("--plot", metavar="OUT.png", help="each track's emotions over time")
    p.add_argument("--every", type=_positive, default=1, help="analyse every Nth frame")
    p.add_argument(
        "--all-frames", action="store_true",
        help="send frames the stream dropped again, so every frame is analysed",
    )  # fmt: skip
    p.set_defaults(run=video.run)

    p = commands.add_parser(
        "webcam", parents=[common, stream], help="a camera: live overlay window, or CSV"
    )
    p.add_argument(
        "--device", default="0", help="camera number, video URL or file (default %(default)s)"
    )
    p.add_argument("--csv", metavar="OUT", help="CSV rows (default without a window: stdout)")
    p.add_argument("--no-window", action="store_true", help="never open a window")
    p.add_argument("--frames", type=_positive, help="stop after this many frames")
    p.add_argument("--seconds", type=float, help="stop after this many seconds")
    p.set_defaults(run=webcam.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; returns the exit status (0 ok, 1 error, 130 interrupted)."""
    args = build_parser().parse_args(argv)
    try:
        status: int = args.run(args)
        return status
    except FerError as exc:
        print(f"fer-client: error: {exc}", file=sys.stderr)
    except OSError as exc:  # an output file that cannot be written, ...
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"fer-client: error: {where}{exc.strerror or exc}", file=sys.stderr)
    except KeyboardInterrupt:
        print("fer-client: interrupted", file=sys.stderr)
        return 130
    return 1


if __name__ == "__main__":
    sys.exit(main())
