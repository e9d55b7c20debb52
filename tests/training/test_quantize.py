"""``python -m training quantize``: an int8 copy of a real exported ensemble, scored and checked."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest

from service.classifier import EmotionModel
from service.config import BUNDLED_BLAZEFACE, BUNDLED_MODEL, FER2013_LABEL_MODEL
from service.model_files import read_card, sha256_of
from tests.helpers.training_cli import onnx_file, run_cli
from training.data import as_model_input, load_folder_split
from training.predict import onnx_probabilities as probabilities
from training.quantize import late_block_convs, quantize_classifier

BLOCKS = 13  # MobileNet v1's depthwise-separable blocks, each one depthwise and one pointwise


@pytest.fixture(scope="module")
def quantized(
    ensemble_run: Path, small_fer_folder: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    out = tmp_path_factory.mktemp("int8")
    # Fast-dev members are barely trained, so their int8 copy may move a lot: accept any drop.
    done = run_cli(
        "quantize", "--model", str(onnx_file(ensemble_run)), "--data", str(small_fer_folder),
        "--run-dir", str(out), "--per-class", "8", "--max-drop", "1",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "int8 val accuracy" in done.stdout
    return out


def test_only_the_late_blocks_convolutions_are_int8(ensemble_run: Path, quantized: Path) -> None:
    source = onnx.load(str(onnx_file(ensemble_run)))
    late = set(late_block_convs(source, 7))
    every = {n.name for n in source.graph.node if n.op_type == "Conv"}
    assert len(late) == 2 * 2 * (BLOCKS - 7 + 1)  # two members, blocks 7-13, dw + pw
    model = onnx.load(str(onnx_file(quantized)))
    made_by = {out: node for node in model.graph.node for out in node.output}
    int8 = set()
    for node in model.graph.node:
        if node.op_type == "Conv":
            weight = made_by.get(node.input[1])
            if weight is not None and weight.op_type == "DequantizeLinear":
                int8.add(node.name)
    assert int8 == late and late < every


def test_the_card_scores_the_copy_and_names_its_source(
    ensemble_run: Path, quantized: Path, small_fer_folder: Path
) -> None:
    source, copy = onnx_file(ensemble_run), onnx_file(quantized)
    card = read_card(copy)
    assert card["name"] == "tiny-pair-int8" and card["sha256"] == sha256_of(copy)
    assert card["quantization"]["source"]["sha256"] == sha256_of(source)
    assert card["quantization"]["calibration"].startswith("56 FER-2013 train faces")
    val = load_folder_split(small_fer_folder / "val", progress=False)
    probs = probabilities(copy, as_model_input(val.images))
    reference = probabilities(source, as_model_input(val.images))
    assert card["val_metrics"]["accuracy"] == pytest.approx(
        float((probs.argmax(1) == val.labels).mean())
    )
    assert card["source_val_report"]["accuracy"] == pytest.approx(
        float((reference.argmax(1) == val.labels).mean())
    )
    assert card["parity"]["max_abs_diff"] == pytest.approx(float(np.abs(probs - reference).max()))
    assert 0 < card["parity"]["max_abs_diff"] < 0.5  # changed by int8, still the same model
    assert card["parity"]["passed"] is True
    assert json.loads((quantized / "report.json").read_text())["accuracy"] == pytest.approx(
        card["val_metrics"]["accuracy"]
    )
    assert (quantized / "plots" / "confusion_matrix.png").is_file()


def test_the_service_loads_the_copy_with_the_sources_labels_and_crop(
    ensemble_run: Path, quantized: Path, small_fer_folder: Path
) -> None:
    source, copy = EmotionModel(onnx_file(ensemble_run)), EmotionModel(onnx_file(quantized))
    assert (copy.labels, copy.crop) == (source.labels, source.crop)
    faces = load_folder_split(small_fer_folder / "val", progress=False).images[:4]
    probs = copy.classify(as_model_input(faces))
    assert probs.shape == (4, 7) and np.allclose(probs.sum(axis=1), 1, atol=1e-3)


def test_a_copy_too_far_below_its_source_is_refused_and_kept_aside(
    ensemble_run: Path, small_fer_folder: Path, tmp_path: Path
) -> None:
    from training.quantize import QuantizationError

    with pytest.raises(QuantizationError, match="more than .* below; kept as .*rejected"):
        quantize_classifier(
            onnx_file(ensemble_run), small_fer_folder, tmp_path, per_class=8, max_drop=-1.0
        )
    assert [p.name for p in (tmp_path / "export").iterdir()] == ["tiny-pair-int8.onnx.rejected"]


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (BUNDLED_BLAZEFACE, "{} is not an emotion classifier exported by training"),
        (BUNDLED_MODEL, "{} is already an int8 copy; quantize its float32 source"),
        (Path("README.md"), "{} is not an ONNX model (DecodeError)"),
        (Path("models"), "model {} is not a file"),
    ],
)
def test_a_model_that_cannot_be_quantized_is_one_line(
    model: Path, message: str, small_fer_folder: Path, tmp_path: Path
) -> None:
    out = run_cli("quantize", "--model", str(model), "--data", str(small_fer_folder),
                  "--run-dir", str(tmp_path))  # fmt: skip
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines()[-1] == "error: " + message.format(model)
    assert not any(tmp_path.iterdir())


def test_a_run_dir_that_holds_results_is_refused(
    ensemble_run: Path, quantized: Path, small_fer_folder: Path
) -> None:
    before = {p: p.stat().st_mtime for p in quantized.rglob("*")}
    out = run_cli("quantize", "--model", str(onnx_file(ensemble_run)), "--data",
                  str(small_fer_folder), "--run-dir", str(quantized))  # fmt: skip
    assert out.returncode == 2
    assert out.stderr.strip().splitlines()[-1].endswith("choose a new --run-dir")
    assert {p: p.stat().st_mtime for p in quantized.rglob("*")} == before


@pytest.mark.parametrize("flag", [("--per-class", "0"), ("--max-drop", "-0.1")])
def test_out_of_range_numbers_are_usage_errors(flag: tuple[str, str], tmp_path: Path) -> None:
    out = run_cli("quantize", "--model", "m.onnx", "--data", "d", "--run-dir", str(tmp_path), *flag)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert f"argument {flag[0]}: must be at least" in out.stderr


def test_the_shipped_float_sources_have_14_late_convolutions_per_network() -> None:
    for int8 in (BUNDLED_MODEL, FER2013_LABEL_MODEL):
        card = read_card(int8)
        source = onnx.load(str(int8.parent / card["quantization"]["source"]["file"]))
        networks = len(card["members"]) if card["backbone"] == "ensemble" else 1
        assert len(late_block_convs(source, 7)) == 14 * networks, int8.name
