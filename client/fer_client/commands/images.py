"""``fer-client image PATH...``: every face of every image; folders recurse."""

from __future__ import annotations

import argparse
import json
import sys

from tqdm import tqdm

from fer_client.commands.backend import limits, open_backend
from fer_client.commands.outputs import text_output
from fer_client.errors import ConnectionFailed, FerError, ServiceError
from fer_client.images import find_images
from fer_client.results import Prediction
from fer_client.table import csv_writer, image_columns, image_rows


def summary_line(path: str, prediction: Prediction) -> str:
    """``photo.jpg: 2 faces: happy 0.88 at 173,74 102x102; ...``"""
    faces = "; ".join(
        f"{f.emotion} {f.confidence:.2f} at {f.box.x},{f.box.y} {f.box.w}x{f.box.h}"
        for f in prediction.faces
    )
    count = len(prediction.faces)
    return f"{path}: {count} face{'' if count == 1 else 's'}" + (f": {faces}" if faces else "")


def _fatal(error: FerError) -> bool:
    # Not about one image: the service is unreachable or refuses this client.
    return isinstance(error, ConnectionFailed) or (
        isinstance(error, ServiceError) and error.status == 401
    )


def run(args: argparse.Namespace) -> int:
    """Analyse every image; exit status 1 when any image failed."""
    paths = list(find_images(args.paths))
    backend = open_backend(args)
    failed = 0
    try:
        labels = backend.labels()  # also fails fast on a wrong URL or key
        with (
            text_output(args.json) as json_out,
            text_output(args.csv) as csv_out,
            tqdm(total=len(paths), unit="image", disable=args.quiet) as bar,
        ):
            table = csv_writer(csv_out, image_columns(labels)) if csv_out else None
            answers = backend.predict_many(
                paths, concurrency=args.concurrency, return_exceptions=True, **limits(args)
            )
            for path, answer in zip(paths, answers, strict=True):
                name = str(path)
                if isinstance(answer, FerError):
                    if _fatal(answer):
                        raise answer
                    failed += 1
                    bar.write(f"fer-client: {name}: {answer}", file=sys.stderr)
                prediction = answer if isinstance(answer, Prediction) else None
                if json_out is not None:
                    record = (
                        {"path": name, **prediction.model_dump(mode="json", exclude_none=True)}
                        if prediction
                        else {"path": name, "error": _error_record(answer)}
                    )
                    json_out.write(json.dumps(record) + "\n")
                if table is not None:
                    error = None if prediction else str(answer)
                    table.writerows(image_rows(name, prediction, error, labels))
                if prediction and json_out is None and csv_out is None:
                    bar.write(summary_line(name, prediction), file=sys.stdout)
                bar.update()
    finally:
        backend.close()
    if not args.quiet:
        noun = "image" if len(paths) == 1 else "images"
        print(f"{len(paths)} {noun}, {failed} failed", file=sys.stderr)
    return 1 if failed else 0


def _error_record(error: object) -> dict[str, str]:
    if isinstance(error, ServiceError):
        return {"code": error.code, "message": error.message}
    return {"code": "client_error", "message": str(error)}
