"""``fer-client image PATH...``: every face of every image, or with ``--crops`` every image as
one already-cropped face; folders recurse, and the files they hold that are not sent are counted
(named with ``-v``)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tqdm import tqdm

from fer_client.commands.backend import Backend, limits, open_backend
from fer_client.commands.outputs import text_output
from fer_client.errors import ConnectionFailed, FerError, InputError, ServiceError
from fer_client.images import Skipped, image_bytes, scan_images
from fer_client.results import CropResult, Prediction
from fer_client.table import crop_columns, crop_row, csv_writer, image_columns, image_rows


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


def _report_skipped(skipped: list[Skipped], verbose: bool) -> None:
    for item in skipped if verbose else []:
        print(f"fer-client: skipped {item.path}: {item.reason}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    """Analyse every image; exit status 1 when any image failed or nothing could be sent."""
    paths, skipped = scan_images(args.paths)
    _report_skipped(skipped, args.verbose)
    if not paths:
        hint = "" if args.verbose or not skipped else " (-v names them)"
        print(
            f"fer-client: error: no image to analyse: {len(skipped)} files skipped{hint}; "
            "images are .jpg, .jpeg, .png, .webp, .bmp, .tif or .tiff",
            file=sys.stderr,
        )
        return 1
    backend = open_backend(args)
    try:
        if args.crops:
            failed = _run_crops(args, backend, paths)
        else:
            failed = _run_images(args, backend, paths)
    finally:
        backend.close()
    if not args.quiet:
        noun = "image" if len(paths) == 1 else "images"
        extra = ""
        if skipped:
            extra = f", {len(skipped)} skipped" + ("" if args.verbose else " (-v names them)")
        print(f"{len(paths)} {noun}, {failed} failed{extra}", file=sys.stderr)
    return 1 if failed else 0


def _run_images(args: argparse.Namespace, backend: Backend, paths: list[Path]) -> int:
    failed = 0
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
    return failed


def _classify_batch(
    backend: Backend, batch: list[Path]
) -> tuple[dict[Path, CropResult], dict[Path, FerError]]:
    """Answers for a batch of crops; a file that cannot be read, or that the service refuses,
    is taken out and the rest sent again, so one bad file costs only itself."""
    answers: dict[Path, CropResult] = {}
    errors: dict[Path, FerError] = {}
    pending = []
    for path in batch:
        try:
            image_bytes(path)
            pending.append(path)
        except InputError as exc:
            errors[path] = exc
    while pending:
        try:
            result = backend.classify(pending)
        except ServiceError as exc:
            if exc.index is None or _fatal(exc) or not 0 <= exc.index < len(pending):
                raise
            errors[pending.pop(exc.index)] = exc
            continue
        answers.update(zip(pending, result.crops, strict=True))
        break
    return answers, errors


def _run_crops(args: argparse.Namespace, backend: Backend, paths: list[Path]) -> int:
    failed = 0
    labels = backend.labels()
    with (
        text_output(args.json) as json_out,
        text_output(args.csv) as csv_out,
        tqdm(total=len(paths), unit="crop", disable=args.quiet) as bar,
    ):
        table = csv_writer(csv_out, crop_columns(labels)) if csv_out else None
        for start in range(0, len(paths), args.batch):
            batch = paths[start : start + args.batch]
            answers, errors = _classify_batch(backend, batch)
            for path in batch:
                name, crop, error = str(path), answers.get(path), errors.get(path)
                if error is not None:
                    failed += 1
                    bar.write(f"fer-client: {name}: {error}", file=sys.stderr)
                if json_out is not None:
                    record = (
                        {
                            "path": name,
                            **crop.model_dump(mode="json", exclude={"index", "filename"}),
                        }
                        if crop
                        else {"path": name, "error": _error_record(error)}
                    )
                    json_out.write(json.dumps(record) + "\n")
                if table is not None:
                    table.writerow(crop_row(name, crop, None if crop else str(error), labels))
                if crop and json_out is None and csv_out is None:
                    bar.write(f"{name}: {crop.emotion} {crop.confidence:.2f}", file=sys.stdout)
                bar.update()
    return failed


def _error_record(error: object) -> dict[str, str]:
    if isinstance(error, ServiceError):
        return {"code": error.code, "message": error.message}
    return {"code": "client_error", "message": str(error)}
