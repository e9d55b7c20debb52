"""Export a trained model to a self-describing ONNX file, verified against Keras on real faces.

The file is written under its final name only when onnxruntime and Keras agree on every parity
image (same top-1, max |delta prob| <= PARITY_TOLERANCE); otherwise it is kept as ``*.rejected``.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import sys
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import keras
import numpy as np
import onnx
import onnxruntime as ort
import tensorflow as tf
import tf2onnx

from service.model_files import (
    CREATED,
    CROP,
    EMOTION_CLASSIFIER,
    EXPORTED_WITH,
    KIND,
    LABELS,
    NAME,
    PARITY,
    VERSION,
    created_now,
    encode_metadata,
    publish,
)
from training import __version__
from training.data import as_model_input
from training.errors import TrainingError
from training.inference import INPUT_NAME, inference_model
from training.labels import CROP_SIZE, EMOTIONS
from training.recipe import TrainConfig
from training.report import val_metrics
from training.run_paths import RunPaths

OPSET = 17
PARITY_TOLERANCE = 1e-4
PARITY_FACES = 512


class ExportError(TrainingError):
    """The exported graph does not reproduce the Keras model."""


def tool_versions() -> dict[str, str]:
    """Versions of everything that shaped the exported file."""
    return {
        "training": __version__,
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "tf2onnx": tf2onnx.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": ort.__version__,
        "opset": str(OPSET),
    }


def check_parity(model: keras.Model, onnx_path: Path, images: np.ndarray) -> dict[str, Any]:
    """Compare Keras and onnxruntime probabilities on the same faces."""
    x = as_model_input(images)
    expected = model.predict(x, batch_size=256, verbose=0)
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    max_diff = float(np.abs(expected - got).max())
    same_top1 = float((expected.argmax(1) == got.argmax(1)).mean())
    return {
        "faces": len(images),
        "max_abs_diff": max_diff,
        "top1_agreement": same_top1,
        "tolerance": PARITY_TOLERANCE,
        "passed": bool(max_diff <= PARITY_TOLERANCE and same_top1 == 1.0),
    }


def export_model(
    model: keras.Model,
    out_path: Path,
    metadata: dict[str, Any],
    parity_images: np.ndarray,
    flip_tta: bool,
    shift: int = 0,
    temperature: float = 1.0,
    card: Mapping[str, Any] | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Convert with tf2onnx, attach metadata_props, verify; return the final path and parity.

    ``card``: the model card's fields besides ``metadata`` and parity (``classifier_card``);
    without it no card is written.
    """
    graph = inference_model(model, flip_tta, shift, temperature)
    spec = (tf.TensorSpec((None, *model.input_shape[1:]), tf.float32, name=INPUT_NAME),)
    onnx_model, _ = tf2onnx.convert.from_keras(graph, input_signature=spec, opset=OPSET)
    props = encode_metadata(metadata)
    onnx.helper.set_model_props(onnx_model, props)
    with publish(out_path) as staged:
        onnx.save(onnx_model, str(staged.path))
        parity = check_parity(graph, staged.path, parity_images)
        staged.check(
            parity,
            lambda kept: ExportError(f"parity check failed, export kept as {kept}: {parity}"),
        )
        # Record the verified parity inside the file too.
        props[PARITY] = json.dumps(parity)
        onnx.helper.set_model_props(onnx_model, props)
        onnx.save(onnx_model, str(staged.path))
        if card is not None:
            staged.describe(metadata, **card)
    return out_path, parity


def classifier_metadata(
    name: str,
    report: dict[str, Any],
    crop_margin: float,
    architecture: dict[str, Any],
    training_data: str,
    weights_source: str,
) -> dict[str, Any]:
    """metadata_props per the architecture's contract (values JSON-encoded where not strings).

    ``architecture``: what the graph is (backbone, alpha, input size; or an ensemble's members).
    """
    return {
        NAME: name,
        KIND: EMOTION_CLASSIFIER,
        VERSION: f"{dt.date.today().isoformat()}",
        LABELS: list(EMOTIONS),
        "output": "probabilities (N, 7), softmax, in labels order"
        + (", temperature-scaled" if "temperature" in report else ""),
        CROP: {
            "size": CROP_SIZE,
            "channels": 1,
            "dtype": "float32",
            "value_range": [0, 255],
            "color": "grayscale",
            "margin": crop_margin,
        },
        **architecture,
        # The test-time views of the evaluated (and so the exported) graph.
        "flip_tta": report["flip_tta"],
        "tta_shift": report["tta_shift"],
        "targets": report.get("targets", "fer2013"),
        "temperature": report["temperature"]["value"] if "temperature" in report else 1.0,
        "training_data": training_data,
        "val_metrics": val_metrics(report),
        "weights_source": weights_source,
        EXPORTED_WITH: tool_versions(),
        CREATED: created_now(),
    }


def _training_data(targets: str, train_faces: Any, val_source: Any) -> str:
    labels = (
        "FER+ vote distributions (Barsoum et al. 2016, MIT)"
        if targets == "ferplus"
        else "FER-2013 labels"
    )
    return f"FER-2013 train ({train_faces} faces), {labels}; val = {val_source}"


def _weights_source(config: dict[str, Any]) -> str:
    weights = config["weights"]
    source = {
        "imagenet": f"ImageNet weights of keras.applications {config['backbone']} (Apache-2.0)",
        "none": "random initialisation",
    }.get(weights, f"backbone weights file {Path(weights).name}")
    if config.get("init_from"):
        source += f"; training continued from {config['init_from']}"
    return source


def build_metadata(
    name: str, config: dict[str, Any], report: dict[str, Any], summary: dict[str, Any]
) -> dict[str, Any]:
    """The metadata of one training run's model."""
    return classifier_metadata(
        name,
        report,
        config["crop_margin"],
        {
            "backbone": config["backbone"],
            "alpha": config["alpha"],
            "input_size": config["input_size"],
        },  # fmt: skip
        _training_data(config["targets"], summary.get("train_faces"), summary.get("val_source")),
        _weights_source(config),
    )


def ensemble_metadata(
    name: str, members: list[dict[str, Any]], report: dict[str, Any], splits: Any
) -> dict[str, Any]:
    """The metadata of an ensemble (``training.ensemble``) of the runs ``members`` describes."""
    return classifier_metadata(
        name,
        report,
        members[0]["config"]["crop_margin"],
        {
            "backbone": "ensemble",
            # A member is named after its recipe; ``run`` is the directory it was trained in.
            "members": [
                {"name": Path(m["recipe"]).stem}
                | {k: m[k] for k in ("run", "backbone", "alpha", "input_size", "seed")}
                for m in members
            ],
        },
        _training_data(
            members[0]["config"].get("targets", "fer2013"), len(splits.train), splits.val_source
        ),
        "; ".join(f"{m['run']}: {_weights_source(m['config'])}" for m in members),
    )


def classifier_card(
    report: dict[str, Any], training: dict[str, Any], command: str | None
) -> dict[str, Any]:
    """An exported classifier's card, besides its metadata and parity: val report, how it was
    made."""
    return {
        "val_report": report,
        "training": training,
        "command": command,
        "exported_by": " ".join(sys.argv),
    }


def export_run(run_dir: Path, name: str | None = None, data: Path | None = None) -> Path:
    """Export the run's best checkpoint to ``<run>/export/<name>.onnx`` + model card.

    Needs the TensorFlow backend (tf2onnx); a checkpoint saved under torch loads here with
    ``compile=False``. The graph has the test-time views the run's report was evaluated with
    (``python -m training evaluate --tta-shift N`` re-evaluates with others), so the card's
    numbers are the file's. Parity is checked on the first PARITY_FACES val faces of the run's
    data (or ``data``). Raises ExportError when parity fails, TrainingError for a missing run.
    """
    from training.data import run_splits

    paths = RunPaths(run_dir)
    config = TrainConfig.load(paths.root)
    if not paths.best.is_file() or not paths.report_json.is_file():
        raise TrainingError(f"{run_dir} has no evaluated best checkpoint to export yet")
    report = json.loads(paths.report_json.read_text())
    summary = json.loads(paths.summary.read_text()) if paths.summary.is_file() else {}
    splits = run_splits(config, data)
    prefix = "ferplus" if config.targets == "ferplus" else "fer"
    name = name or f"{prefix}-{config.backbone.replace('_', '-')}-{config.input_size}"
    model = keras.models.load_model(str(paths.best), compile=False)
    config_dict = asdict(config)
    metadata = build_metadata(name, config_dict, report, summary)
    training = {"config": config_dict, "summary": summary}
    out_path, _ = export_model(
        model,
        paths.export / f"{name}.onnx",
        metadata,
        splits.val.images[:PARITY_FACES],
        metadata["flip_tta"],
        metadata["tta_shift"],
        metadata["temperature"],
        card=classifier_card(report, training, config.extra.get("command")),
    )
    return out_path
