"""An int8 copy of an exported emotion classifier: its late MobileNet blocks quantized.

onnxruntime static quantization (``quantize_static``: QDQ format, int8 weights per output
channel, uint8 activations, MinMax ranges calibrated on FER-2013 **train** faces) of the
convolutions of MobileNet v1 blocks ``from_block`` to 13 only. At 64 px those blocks run on 4x4
and 2x2 feature maps with 512-1024 channels and hold most of the multiply-adds, so int8 there
roughly halves the classifier's cost; the early blocks, whose activations are large and whose
errors every later layer inherits, stay float32. Quantizing every op is cheaper still but cost
the shipped ensemble 0.5 points of val accuracy (``python -m bench.int8_probe`` prints both).

The copy is scored on the whole val split next to its float32 source and kept only when its
top-1 is at most ``max_drop`` below the source's; otherwise it is kept as ``*.onnx.rejected``
and QuantizationError says so.
"""

from __future__ import annotations

import re
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process

from service.model_files import (
    CREATED,
    EMOTION_CLASSIFIER,
    EXPORTED_WITH,
    KIND,
    NAME,
    PARITY,
    VERSION,
    created_now,
    decode_metadata,
    encode_metadata,
    publish,
    read_card,
    sha256_of,
)
from training import __version__
from training.data import FaceSet, as_model_input, load_splits
from training.errors import TrainingError
from training.predict import onnx_probabilities
from training.report import primary, val_metrics, val_report

DEFAULT_FROM_BLOCK = 7
CALIBRATION_PER_CLASS = 40
CALIBRATION_SEED = 5
CALIBRATION_BATCH = 56  # divides 7 x 40 and 7 x 200 faces: equal batches, as histogram
# calibrators (percentile, entropy) need
MAX_ACCURACY_DROP = 0.005  # the most val top-1 an int8 copy may lose against its source
PARITY_FACES = 512
# tf2onnx keeps the Keras layer name in a depthwise node's name (.../conv_dw_7_1/depthwise) and
# in a pointwise node's weight name (.../conv_pw_7_1/convolution/merged_input:0).
MOBILENET_BLOCK = re.compile(r"conv_(?:dw|pw)_(\d+)_")


class QuantizationError(TrainingError):
    """The int8 copy cannot be made, or scores too far below its source."""


def late_block_convs(model: onnx.ModelProto, from_block: int) -> list[str]:
    """Names of the Conv nodes of MobileNet v1 blocks >= ``from_block`` (1-13), found by the
    Keras layer name in the node's own name or its weight's; every member of an ensemble."""
    names = []
    for node in model.graph.node:
        if node.op_type != "Conv":
            continue
        found = [MOBILENET_BLOCK.search(text) for text in (node.name, *node.input[1:2])]
        blocks = {int(m.group(1)) for m in found if m is not None}
        if blocks and max(blocks) >= from_block:
            names.append(node.name)
    return names


def calibration_faces(train: FaceSet, per_class: int, seed: int) -> np.ndarray:
    """(N, 48, 48, 1) float32: ``per_class`` train faces of each emotion (fewer where a class has
    fewer), drawn with ``seed``."""
    rng = np.random.default_rng(seed)
    picked = [
        rng.choice(np.flatnonzero(train.labels == label), min(per_class, count), replace=False)
        for label, count in enumerate(train.class_counts())
        if count
    ]
    return as_model_input(train.images[np.sort(np.concatenate(picked))])


class _Batches(CalibrationDataReader):
    def __init__(self, input_name: str, batches: Iterable[np.ndarray]) -> None:
        self._batches = iter([{input_name: batch} for batch in batches])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._batches, None)


def in_batches(faces: np.ndarray, size: int = CALIBRATION_BATCH) -> list[np.ndarray]:
    """``faces`` cut into batches of ``size`` (the last one may be shorter)."""
    return [faces[i : i + size] for i in range(0, len(faces), size)]


def quantize_int8(source: Path, out: Path, batches: Iterable[np.ndarray], **options: Any) -> None:
    """onnxruntime static quantization of ``source`` into ``out``: QDQ, int8 weights per output
    channel, uint8 activations, ranges from the calibration ``batches`` (of the graph's first
    input); ``options`` go to ``quantize_static`` (e.g. ``nodes_to_quantize``)."""
    model = onnx.load(str(source), load_external_data=False)
    settings: dict[str, Any] = {
        "quant_format": QuantFormat.QDQ,
        "per_channel": True,
        "weight_type": QuantType.QInt8,
        "activation_type": QuantType.QUInt8,
        "calibrate_method": CalibrationMethod.MinMax,
        **options,
    }
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared), str(out), _Batches(model.graph.input[0].name, batches), **settings
        )


def quantize_late_blocks(
    source: Path, out: Path, calibration: np.ndarray, from_block: int = DEFAULT_FROM_BLOCK
) -> int:
    """Write the int8 copy of ``source`` (the convolutions of MobileNet blocks ``from_block``
    to 13) to ``out``; returns how many convolutions it quantized. Raises QuantizationError
    when the graph has no MobileNet v1 block that late."""
    nodes = late_block_convs(onnx.load(str(source)), from_block)
    if not nodes:
        raise QuantizationError(
            f"{source} has no MobileNet v1 convolutions of block {from_block} or later "
            "(only the mobilenet backbone's layer names are known)"
        )
    quantize_int8(source, out, in_batches(calibration), nodes_to_quantize=nodes)
    made = int8_convolutions(onnx.load(str(out)))
    if made != set(nodes):
        raise QuantizationError(
            f"onnxruntime quantized {len(made)} convolutions of {out.name}, not the "
            f"{len(nodes)} of blocks {from_block}-13"
        )
    return len(nodes)


def int8_convolutions(model: onnx.ModelProto) -> set[str]:
    """Names of the Conv nodes whose weights come through a DequantizeLinear (QDQ int8)."""
    made_by = {out: node.op_type for node in model.graph.node for out in node.output}
    return {n.name for n in model.graph.node
            if n.op_type == "Conv" and made_by.get(n.input[1]) == "DequantizeLinear"}  # fmt: skip


def _classifier_metadata(source: Path) -> dict[str, Any]:
    """The metadata of a float32 classifier exported by training; QuantizationError otherwise."""
    if not source.is_file():
        raise QuantizationError(f"model {source} is not a file")
    try:
        model = onnx.load(str(source), load_external_data=False)
    except Exception as exc:  # protobuf and onnx raise several types for a file that is not ONNX
        raise QuantizationError(f"{source} is not an ONNX model ({type(exc).__name__})") from None
    meta = decode_metadata({p.key: p.value for p in model.metadata_props})
    if meta.get(KIND) != EMOTION_CLASSIFIER:
        raise QuantizationError(f"{source} is not an emotion classifier exported by training")
    if "quantization" in meta:
        raise QuantizationError(f"{source} is already an int8 copy; quantize its float32 source")
    return meta


def _score(
    source: Path, copy: Path, val: FaceSet, meta: dict[str, Any], max_drop: float
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Reports of ``copy`` and ``source`` on ``val``, and their parity (``passed`` when the
    copy's top-1 is at most ``max_drop`` below the source's)."""
    faces = as_model_input(val.images)
    reference = onnx_probabilities(source, faces)
    probs = onnx_probabilities(copy, faces)
    targets = meta.get("targets", "fer2013")
    source_report = val_report(val.labels, val.votes, reference)
    report = val_report(val.labels, val.votes, probs)
    report["flip_tta"], report["tta_shift"] = meta.get("flip_tta"), meta.get("tta_shift")
    report["targets"] = source_report["targets"] = targets
    drop = primary(source_report, targets)["accuracy"] - primary(report, targets)["accuracy"]
    first = slice(0, PARITY_FACES)
    parity = {
        "reference": f"{source.name} (float32) on the first {PARITY_FACES} val faces",
        "faces": len(faces[first]),
        "max_abs_diff": float(np.abs(probs[first] - reference[first]).max()),
        "top1_agreement": float((probs[first].argmax(1) == reference[first].argmax(1)).mean()),
        "val_accuracy_drop": drop,
        "tolerance": f"val top-1 at most {100 * max_drop:g} points below the float32 source",
        "passed": bool(drop <= max_drop),
    }
    return report, source_report, parity


def quantize_classifier(
    source: Path,
    data: Path,
    out_dir: Path,
    from_block: int = DEFAULT_FROM_BLOCK,
    per_class: int = CALIBRATION_PER_CLASS,
    seed: int = CALIBRATION_SEED,
    max_drop: float = MAX_ACCURACY_DROP,
) -> tuple[dict[str, Any], Path]:
    """Quantize ``source``, score it on val next to the source, export it with its card.

    Writes ``out_dir``'s report, plots (confusion matrix) and ``export/<name>-int8.onnx`` +
    card. Returns (report, ONNX path). Raises QuantizationError for a source that is not an
    emotion classifier or a copy that scores more than ``max_drop`` below it, and the data
    loader's errors for a wrong ``data``.
    """
    from training.plots import plot_run
    from training.report import write_report
    from training.run_paths import RunPaths

    meta = _classifier_metadata(source)
    paths = RunPaths(out_dir)
    final = paths.export / f"{meta[NAME]}-int8.onnx"
    if out_dir.exists() and not out_dir.is_dir():
        raise QuantizationError(f"--run-dir {out_dir} is a file, not a folder")
    if final.exists() or paths.report_json.exists():
        raise QuantizationError(
            f"{out_dir} already holds a quantization's results ({final.name} or report.json); "
            "choose a new --run-dir"
        )
    splits = load_splits(data)
    calibration = calibration_faces(splits.train, per_class, seed)
    with publish(final) as staged:
        quantized = quantize_late_blocks(source, staged.path, calibration, from_block)
        report, source_report, parity = _score(source, staged.path, splits.val, meta, max_drop)
        targets = report["targets"]
        staged.check(
            parity,
            lambda kept: QuantizationError(
                f"the int8 copy scores {primary(report, targets)['accuracy']:.2%} on val against "
                f"{primary(source_report, targets)['accuracy']:.2%} for {source.name}, more than "
                f"{100 * max_drop:g} points below; kept as {kept}"
            ),
        )
        quantization = {
            "method": "onnxruntime quantize_static, QDQ, int8 weights per channel, uint8 "
            "activations, MinMax calibration",
            "quantized": f"the {quantized} convolutions of MobileNet v1 blocks {from_block}-13",
            "from_block": from_block,
            "quantized_convolutions": quantized,
            "calibration": f"{len(calibration)} FER-2013 train faces ({per_class} per class, "
            f"seed {seed})",
            "calibration_faces": len(calibration),
            "calibration_per_class": per_class,
            "calibration_seed": seed,
            "source": {
                "file": source.name,
                "sha256": sha256_of(source),
                "name": meta[NAME],
                "version": meta.get(VERSION),
                "val_accuracy": primary(source_report, targets)["accuracy"],
                "targets": targets,
                "exported_with": meta.get(EXPORTED_WITH),
            },
        }
        metadata = {
            **meta,
            NAME: f"{meta[NAME]}-int8",
            VERSION: created_now()[:10],
            "val_metrics": val_metrics(report),
            "quantization": quantization,
            PARITY: parity,
            EXPORTED_WITH: {
                "training": __version__,
                "onnx": onnx.__version__,
                "onnxruntime": ort.__version__,
            },
            CREATED: created_now(),
        }
        model = onnx.load(str(staged.path))
        onnx.helper.set_model_props(model, encode_metadata(metadata))
        onnx.save(model, str(staged.path))
        source_card = read_card(source) if source.with_suffix(".card.json").is_file() else {}
        staged.describe(
            metadata,
            val_report=report,
            source_val_report=source_report,
            training=source_card.get("training"),
            source_command=source_card.get("command"),
            command=" ".join(["python -m training", *sys.argv[1:]]),
            exported_by=" ".join(sys.argv),
        )

    paths.root.mkdir(parents=True, exist_ok=True)
    print(write_report(report, paths))
    plot_run(paths.root)
    return report, final
