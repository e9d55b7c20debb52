"""``python -m training COMMAND``: train, evaluate, export, checkpoint, plot, ensemble, quantize,
predict. (Face detectors are converted by ``python -m converters``.)

Every problem the user can fix ends in one line (``error: ...``, exit status 2): the package
raises ``TrainingError`` and this module catches it once.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

from training.errors import TrainingError
from training.recipe import (
    BACKENDS,
    TARGETS,
    EnsembleRecipe,
    TrainConfig,
    member_configs,
    read_recipe,
    select_backend,
)

# TensorFlow's C++ start-up chatter (oneDNN, CPU features) would bury the one-line errors.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DEFAULT_RUNS = Path("runs")
# TrainConfig fields that are not flags of their own: paths come from --data/--run-dir.
NOT_FLAGS = {"data", "run_dir", "extra"}
CHOICES: dict[str, tuple[str, ...]] = {
    "backend": BACKENDS,
    "backbone": ("mobilenet", "mobilenet_v2", "mobilenet_v3_small"),
    "class_weight": ("none", "balanced", "sqrt"),
    "targets": TARGETS,
}
FLAG_TYPES: dict[str, Any] = {"int": int, "float": float, "str": str, "str | None": str}


def _config_flags(parser: argparse.ArgumentParser) -> list[str]:
    """One flag per TrainConfig field, typed from its annotation; returns the field names."""
    names = []
    for f in fields(TrainConfig):
        if f.name in NOT_FLAGS:
            continue
        flag = f"--{f.name.replace('_', '-')}"
        default = f"default {f.default}" if f.default is not MISSING else ""
        if f.type == "bool":
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, help=default)
        else:
            parser.add_argument(
                flag, type=FLAG_TYPES[str(f.type)], choices=CHOICES.get(f.name), help=default
            )
        names.append(f.name)
    return names


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train", help="fine-tune a MobileNet on FER-2013 (then evaluate, plot, export)"
    )
    p.add_argument("--config", type=Path, help="recipe file (experiments/<name>.json)")
    p.add_argument("--data", type=Path, help="FER-2013 folder (train/, val/) or fer2013.csv")
    p.add_argument(
        "--run-dir", type=Path, help="run directory (default runs/<time>-<backbone>-<size>)"
    )
    p.add_argument(
        "--resume", action="store_true", help="continue the run in --run-dir from its checkpoints"
    )
    p.set_defaults(config_fields=_config_flags(p))


def _train_config(args: argparse.Namespace) -> TrainConfig:
    """The recipe file's settings, overridden by the flags given on the command line."""
    given = {n: getattr(args, n) for n in args.config_fields if getattr(args, n) is not None}
    if args.resume:
        if not args.run_dir:
            raise TrainingError("--resume needs --run-dir")
        extra = [f"--{n.replace('_', '-')}" for n in given]
        extra += ["--config"] * bool(args.config) + ["--data"] * bool(args.data)
        if extra:
            raise TrainingError(
                f"--resume continues the run as configured in {args.run_dir}/config.json "
                f"and would ignore {', '.join(extra)}"
            )
        return TrainConfig.load(args.run_dir)
    values: dict[str, Any] = read_recipe(args.config) if args.config else {}
    values.update(given)
    if args.data:
        values["data"] = str(args.data)
    if "data" not in values:
        raise TrainingError('no data: pass --data (or put "data" in the recipe file)')
    backbone = values.get("backbone", "mobilenet")
    size = values.get("input_size", 96)
    run_dir = args.run_dir or DEFAULT_RUNS / f"{time.strftime('%Y%m%d-%H%M%S')}-{backbone}-{size}"
    values["run_dir"] = str(run_dir)
    config = TrainConfig.from_dict(values, str(args.config or "command line"))
    config.extra["command"] = "python -m training " + shlex.join(sys.argv[1:])
    if args.config:
        config.extra["recipe"] = str(args.config)
    return config


def _run_train(args: argparse.Namespace) -> int:
    config = _train_config(args)
    from training.data import check_source  # Keras-free: a wrong path fails before Keras starts

    check_source(Path(config.data))
    select_backend(config.backend)
    from training.train import train

    train(config, resume=args.resume)
    return 0


def _run_evaluate(args: argparse.Namespace) -> int:
    config = TrainConfig.load(args.run_dir)
    select_backend(config.backend)
    import keras

    from training.data import run_splits
    from training.evaluate import evaluate_model
    from training.plots import plot_run
    from training.report import write_report
    from training.run_paths import RunPaths

    paths = RunPaths(args.run_dir)
    splits = run_splits(config, args.data)
    model = keras.models.load_model(str(paths.best), compile=False)
    report = evaluate_model(
        model, splits.val, not args.no_flip_tta, args.tta_shift, config.targets, config.calibrate
    )
    print(write_report(report, paths))
    plot_run(args.run_dir)
    print(f"\nwrote {paths.report_json}, {paths.report_txt.name} and plots/")
    return 0


def _run_export(args: argparse.Namespace) -> int:
    select_backend("tensorflow")  # tf2onnx converts TensorFlow graphs
    from training.export import export_run

    path = export_run(args.run_dir, args.name, args.data)
    print(f"exported {path} (parity verified) and its model card")
    return 0


def _run_ensemble(args: argparse.Namespace) -> int:
    member_configs(EnsembleRecipe.load(args.config), args.members)  # fail fast, before Keras
    select_backend("tensorflow")  # tf2onnx converts TensorFlow graphs
    from training.ensemble import build_ensemble

    report, path = build_ensemble(args.config, args.members, args.run_dir, args.data)
    from training.report import primary

    accuracy = primary(report, report["targets"])["accuracy"]
    print(f"\nensemble val accuracy {accuracy:.2%}; exported {path} (parity verified)")
    return 0


def _add_ensemble(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ensemble", help="average trained runs inside one graph: evaluate on val, export ONNX"
    )
    p.add_argument("--config", required=True, type=Path, help="experiments/ensembles/<name>.json")
    p.add_argument(
        "--members", required=True, nargs="+", type=Path,
        help="the member runs' directories, in the recipe's order",
    )  # fmt: skip
    p.add_argument("--run-dir", required=True, type=Path, help="where report and export go")
    p.add_argument("--data", type=Path, help="override the members' data path")


def _run_quantize(args: argparse.Namespace) -> int:
    from service.model_files import read_card
    from training.quantize import quantize_classifier

    report, path = quantize_classifier(
        args.model, args.data, args.run_dir, args.from_block, args.per_class, args.seed,
        args.max_drop,
    )  # fmt: skip
    from training.report import primary

    accuracy = primary(report, report["targets"])["accuracy"]
    drop = accuracy - read_card(path)["quantization"]["source"]["val_accuracy"]
    print(f"\nint8 val accuracy {accuracy:.2%} ({100 * drop:+.2f} points against "
          f"{args.model.name}); exported {path}")  # fmt: skip
    return 0


def _add_quantize(sub: argparse._SubParsersAction) -> None:
    from training.quantize import (
        CALIBRATION_PER_CLASS,
        CALIBRATION_SEED,
        DEFAULT_FROM_BLOCK,
        MAX_ACCURACY_DROP,
    )

    p = sub.add_parser(
        "quantize",
        help="int8 copy of an exported classifier (its late MobileNet blocks), scored on val",
        description="Quantize the convolutions of MobileNet v1 blocks FROM-BLOCK-13 of an "
        "exported float32 classifier to int8 (onnxruntime static quantization, calibrated on "
        "FER-2013 train faces), score copy and source on val, and export the copy with its card "
        "when it is at most MAX-DROP below the source.",
    )
    p.add_argument("--model", required=True, type=Path, help="the float32 .onnx to quantize")
    p.add_argument("--data", required=True, type=Path, help="FER-2013 folder (train/, val/)")
    p.add_argument("--run-dir", required=True, type=Path, help="where report and export go")
    p.add_argument(
        "--from-block", type=int, choices=range(1, 14), default=DEFAULT_FROM_BLOCK,
        metavar="1-13", help=f"first MobileNet block quantized (default {DEFAULT_FROM_BLOCK})",
    )  # fmt: skip
    p.add_argument(
        "--per-class", type=_at_least(1, int), default=CALIBRATION_PER_CLASS,
        help=f"calibration train faces per emotion (default {CALIBRATION_PER_CLASS})",
    )  # fmt: skip
    p.add_argument(
        "--seed", type=int, default=CALIBRATION_SEED,
        help=f"calibration draw (default {CALIBRATION_SEED})",
    )  # fmt: skip
    p.add_argument(
        "--max-drop", type=_at_least(0, float), default=MAX_ACCURACY_DROP,
        help=f"largest val top-1 loss accepted, as a fraction (default {MAX_ACCURACY_DROP})",
    )  # fmt: skip


def _at_least(low: float, kind: type[int] | type[float]) -> Any:
    """An argparse type: ``kind`` values >= ``low``."""

    def parse(text: str) -> int | float:
        value = kind(text)
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its error message
    return parse


def _run_checkpoint(args: argparse.Namespace) -> int:
    config = TrainConfig.load(args.run_dir)
    select_backend(config.backend)
    from training.train import snapshot

    info = snapshot(config, args.out)
    print(f"wrote {args.out} ({info['what']})\ncontinue: {info['continue']}")
    return 0


def _run_plot(args: argparse.Namespace) -> int:
    from training.plots import plot_run

    for path in plot_run(args.run_dir):
        print(path)
    return 0


def _run_score(args: argparse.Namespace) -> int:
    from training.data import as_model_input, check_source, load_splits
    from training.predict import onnx_probabilities
    from training.report import format_report, val_report

    if not args.model.is_file():
        raise TrainingError(f"model file {args.model} does not exist")
    check_source(args.data)
    val = load_splits(args.data, votes=args.ferplus_votes).val
    report = val_report(
        val.labels, val.votes, onnx_probabilities(args.model, as_model_input(val.images))
    )
    print(f"{args.model} on {len(val)} val faces of {args.data}\n")
    print(format_report(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


def _run_predict(args: argparse.Namespace) -> int:
    from training.predict import collect_images, format_predictions, predict_files

    rows = predict_files(args.model, collect_images(args.images))
    print(format_predictions(rows, args.json))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The CLI's argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m training",
        description="Train, evaluate, plot, export and ensemble FER-2013 emotion classifiers. "
        "Every problem the user can fix ends in one line "
        "(error: ..., exit status 2).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    _add_train(sub)
    p = sub.add_parser("evaluate", help="evaluate a run's best model on val")
    p.add_argument("--run-dir", required=True, type=Path)
    p.add_argument("--data", type=Path, help="override the run's data path")
    p.add_argument("--no-flip-tta", action="store_true")
    p.add_argument("--tta-shift", type=int, default=0, help="add views shifted by PIXELS")
    p = sub.add_parser("export", help="export a run's best model to verified ONNX")
    p.add_argument("--run-dir", required=True, type=Path)
    p.add_argument("--data", type=Path, help="override the run's data path")
    p.add_argument("--name", help="model name (default fer-<backbone>-<size>)")
    p = sub.add_parser(
        "checkpoint", help="save a run's latest weights (float16 .npz) to continue elsewhere"
    )
    p.add_argument("--run-dir", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path, help="e.g. models/checkpoints/NAME.npz")
    p = sub.add_parser("plot", help="draw a run's curves and confusion matrix")
    p.add_argument("--run-dir", required=True, type=Path)
    _add_ensemble(sub)
    _add_quantize(sub)
    p = sub.add_parser(
        "score",
        help="score an exported .onnx classifier on val: FER-2013 labels, FER+ votes, ECE",
    )
    p.add_argument("--model", required=True, type=Path, help="the .onnx classifier")
    p.add_argument("--data", required=True, type=Path, help="FER-2013 folder (train/, val/)")
    p.add_argument(
        "--ferplus-votes", type=Path, help="FER+ labels.csv (default <data>/../ferplus/labels.csv)"
    )
    p.add_argument("--json", type=Path, help="also write the whole report to this file")
    p = sub.add_parser("predict", help="emotions of face images (files or folders)")
    p.add_argument("--model", required=True, type=Path, help=".onnx or .keras model")
    p.add_argument("images", nargs="+", type=Path)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run one command; user-fixable problems exit 2 with one line."""
    args = build_parser().parse_args(argv)
    handlers = {"train": _run_train, "evaluate": _run_evaluate, "export": _run_export,
                "plot": _run_plot, "predict": _run_predict, "checkpoint": _run_checkpoint,
                "ensemble": _run_ensemble, "quantize": _run_quantize,
                "score": _run_score}  # fmt: skip
    try:
        return handlers[args.command](args)
    except TrainingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
