"""A real fast-dev-run on the default (torch) backend -> evaluate -> export under TensorFlow, and
what the exported ONNX file holds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

from tests.helpers.paths import HAS_IMAGENET_WEIGHTS, ROOT
from tests.helpers.training_cli import onnx_file, run_cli
from training.data import load_folder_split
from training.labels import EMOTIONS

REQUIRED_METADATA = {
    "name", "version", "labels", "crop", "backbone", "alpha", "input_size", "flip_tta",
    "training_data", "val_metrics", "weights_source", "exported_with", "created", "parity",
}  # fmt: skip


@pytest.fixture(scope="module")
def fast_run(small_fer_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The CLI's fast dev run with the default backend, EMA and random erasing on."""
    weights = "imagenet" if HAS_IMAGENET_WEIGHTS else "none"
    run_dir = tmp_path_factory.mktemp("runs") / "fast"
    done = run_cli(
        "train", "--data", str(small_fer_folder), "--run-dir", str(run_dir), "--weights", weights,
        "--batch-size", "16", "--input-size", "64", "--ema-momentum", "0.9",
        "--random-erasing", "0.5", "--fast-dev-run",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return run_dir


def test_training_ran_on_torch_and_exported_under_tensorflow(fast_run: Path) -> None:
    config = json.loads((fast_run / "config.json").read_text())
    assert config["backend"] == "torch" and config["ema_momentum"] == 0.9
    assert json.loads((fast_run / "train_summary.json").read_text())["backend"] == "torch"
    props = {p.key: p.value for p in onnx.load(str(onnx_file(fast_run))).metadata_props}
    assert json.loads(props["exported_with"])["tensorflow"]


def test_run_directory_holds_every_artefact(fast_run: Path) -> None:
    for name in ("config.json", "history.csv", "report.json", "report.txt", "train_summary.json",
                 "checkpoints/best.keras", "plots/accuracy.png", "plots/loss.png",
                 "plots/confusion_matrix.png"):  # fmt: skip
        assert (fast_run / name).is_file(), name
    assert (fast_run / "plots" / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    history = (fast_run / "history.csv").read_text().splitlines()
    assert history[0].split(",")[:2] == ["epoch", "accuracy"]
    assert len(history) == 3  # header + one frozen epoch + one fine-tuning epoch
    report = json.loads((fast_run / "report.json").read_text())
    assert set(report["per_class"]) == set(EMOTIONS)
    assert sum(map(sum, report["confusion_matrix"])) == report["samples"] == 7 * 24
    assert "accuracy" in (fast_run / "report.txt").read_text()


def test_exported_metadata_is_complete(fast_run: Path) -> None:
    path = onnx_file(fast_run)
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert REQUIRED_METADATA <= set(props)
    assert json.loads(props["labels"]) == list(EMOTIONS)
    crop = json.loads(props["crop"])
    assert (crop["size"], crop["channels"]) == (48, 1)
    report = json.loads((fast_run / "report.json").read_text())
    assert json.loads(props["val_metrics"])["accuracy"] == pytest.approx(report["accuracy"])
    assert json.loads(props["parity"])["passed"] is True
    assert int(json.loads(props["exported_with"])["opset"]) >= 17
    card = json.loads(path.with_name(path.stem + ".card.json").read_text())
    assert card["sha256"] and card["val_report"]["samples"] == report["samples"]


def test_onnxruntime_matches_keras_on_real_faces(fast_run: Path, small_fer_folder: Path) -> None:
    import keras
    import onnxruntime as ort

    from training.inference import inference_model

    faces = load_folder_split(small_fer_folder / "val", progress=False)
    x = faces.images[..., None].astype(np.float32)
    # Saved under torch, loaded here under TensorFlow: the cross-backend path the export takes.
    # The exported graph ends in the temperature fitted on val (training.calibration).
    temperature = json.loads((fast_run / "report.json").read_text())["temperature"]["value"]
    keras_model = inference_model(
        keras.models.load_model(fast_run / "checkpoints" / "best.keras", compile=False),
        True,
        temperature=temperature,
    )
    expected = keras_model.predict(x, verbose=0)
    session = ort.InferenceSession(str(onnx_file(fast_run)), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    assert got.shape == (len(faces), 7)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-5)
    # A trained model does not answer 1/7 everywhere, so agreement below means something.
    assert float(np.abs(got - 1 / 7).max()) > 1e-3
    assert float(np.abs(got - expected).max()) <= 1e-4
    assert (got.argmax(1) == expected.argmax(1)).all()


def test_exported_model_runs_without_tensorflow(fast_run: Path, small_fer_folder: Path) -> None:
    face = next((small_fer_folder / "val" / "happy").iterdir())
    script = f"""
import sys, numpy as np, cv2, onnxruntime as ort
img = cv2.imread({str(face)!r}, cv2.IMREAD_GRAYSCALE)
s = ort.InferenceSession({str(onnx_file(fast_run))!r}, providers=["CPUExecutionProvider"])
p = s.run(None, {{s.get_inputs()[0].name: img[None, :, :, None].astype(np.float32)}})[0]
assert "tensorflow" not in sys.modules and "keras" not in sys.modules
print(p.shape, round(float(p.sum()), 4))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "(1, 7) 1.0"


def test_export_refuses_a_graph_that_fails_parity(
    fast_run: Path, small_fer_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import keras

    from training import export

    monkeypatch.setattr(export, "PARITY_TOLERANCE", -1.0)  # nothing can pass
    model = keras.models.load_model(fast_run / "checkpoints" / "best.keras", compile=False)
    faces = load_folder_split(small_fer_folder / "val", progress=False)
    target = fast_run / "refused" / "model.onnx"
    with pytest.raises(export.ExportError, match="parity check failed"):
        export.export_model(model, target, {"name": "x"}, faces.images[:8], flip_tta=True)
    assert not target.exists()
    assert target.with_suffix(".onnx.rejected").is_file()


def test_training_again_into_a_finished_run_needs_resume(
    fast_run: Path, small_fer_folder: Path
) -> None:
    done = run_cli("train", "--data", str(small_fer_folder), "--run-dir", str(fast_run))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].endswith("already holds a run; pass --resume")


def test_resume_refuses_flags_it_would_ignore(fast_run: Path) -> None:
    done = run_cli("train", "--run-dir", str(fast_run), "--resume", "--epochs", "5", "--lr", "1")
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error: --resume continues the run") and "--epochs, --lr" in line


def test_a_finished_run_resumes_to_its_export_without_training(fast_run: Path) -> None:
    history = (fast_run / "history.csv").read_text()
    done = run_cli("train", "--run-dir", str(fast_run), "--resume")
    assert done.returncode == 0, done.stderr[-2000:]
    assert (fast_run / "history.csv").read_text() == history  # no epoch trained again
    assert onnx_file(fast_run).is_file()


def test_predict_cli_prints_all_scores_as_json(fast_run: Path, small_fer_folder: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "training", "predict", "--model", str(onnx_file(fast_run)),
         str(small_fer_folder / "val" / "happy"), "--json"],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    rows = json.loads(out.stdout)
    assert len(rows) == 24
    for row in rows:
        assert set(row["scores"]) == set(EMOTIONS)
        assert sum(row["scores"].values()) == pytest.approx(1.0, abs=1e-4)
        assert row["emotion"] == max(row["scores"], key=row["scores"].get)


def test_a_run_continues_on_another_machine_from_its_portable_checkpoint(
    fast_run: Path, small_fer_folder: Path, tmp_path: Path
) -> None:
    checkpoint = tmp_path / "checkpoints" / "fast.npz"
    done = run_cli("checkpoint", "--run-dir", str(fast_run), "--out", str(checkpoint))
    assert done.returncode == 0, done.stderr[-2000:]
    info = json.loads(checkpoint.with_suffix(".json").read_text())
    assert info["epochs_done"] == 1 and "--initial-epoch 1" in info["continue"]
    with np.load(checkpoint) as stored:
        assert stored["arr_0"].dtype == np.float16
    weights = "imagenet" if HAS_IMAGENET_WEIGHTS else "none"
    moved = tmp_path / "continued"
    done = run_cli(
        "train", "--data", str(small_fer_folder), "--run-dir", str(moved), "--weights", weights,
        "--batch-size", "16", "--input-size", "64", "--ema-momentum", "0.9",
        "--random-erasing", "0.5", "--init-from", str(checkpoint), "--initial-epoch", "1",
        "--fast-dev-run",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    epochs = [line.split(",")[0] for line in (moved / "history.csv").read_text().splitlines()[1:]]
    assert epochs == ["2"]  # no head phase again; phase 2 goes on at its second epoch
    assert onnx_file(moved).is_file()
    # The weight average (what the best checkpoint holds) starts from the loaded weights.
    import keras

    best = keras.models.load_model(moved / "checkpoints" / "best.keras", compile=False)
    (kernel,) = [w for w in best.get_weights() if w.shape == (1024, 7)]
    with np.load(checkpoint) as stored:
        (start,) = [stored[k] for k in stored.files if stored[k].shape == (1024, 7)]
    assert np.abs(kernel - start).mean() < 0.3 * np.abs(start).mean()


def test_cli_reports_bad_data_in_one_line(tmp_path: Path) -> None:
    out = run_cli(
        "train", "--data", str(tmp_path / "nowhere"), "--run-dir", str(tmp_path / "run"),
        "--fast-dev-run",
    )  # fmt: skip
    assert out.returncode == 2
    assert "error: data path" in out.stderr and "does not exist" in out.stderr
    assert "Traceback" not in out.stderr


def test_missing_imagenet_weights_end_in_one_line_that_says_the_way_out(
    small_fer_folder: Path, tmp_path: Path
) -> None:
    # An empty KERAS_HOME on a machine without internet: Keras can neither find nor fetch them.
    out = run_cli(
        "train", "--data", str(small_fer_folder), "--run-dir", str(tmp_path / "run"),
        "--input-size", "64", "--fast-dev-run", KERAS_HOME=str(tmp_path / "keras"),
    )  # fmt: skip
    if out.returncode == 0:
        pytest.skip("this machine could download the ImageNet weights")
    assert out.returncode == 2
    last = out.stderr.strip().splitlines()[-1]
    assert "Traceback" not in out.stderr
    assert last.startswith("error: ImageNet weights mobilenet_1_0_224_tf_no_top.h5")
    assert str(tmp_path / "keras" / "models") in last
    assert "KERAS_HOME" in last and "--weights none" in last and "--weights PATH" in last


def test_export_of_a_run_without_a_checkpoint_is_one_line(tmp_path: Path) -> None:
    out = run_cli("export", "--run-dir", str(tmp_path))
    assert out.returncode == 2
    last = out.stderr.strip().splitlines()[-1]
    assert last == f"error: {tmp_path} holds no training run (no config.json)"


def test_training_zero_epochs_is_one_line_and_leaves_no_run(tmp_path: Path) -> None:
    out = run_cli("train", "--data", str(tmp_path), "--run-dir", str(tmp_path / "run"),
                  "--epochs", "0")  # fmt: skip
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines()[-1] == "error: epochs must be at least 1, got 0"
    assert not (tmp_path / "run").exists()


def test_plot_and_predict_with_missing_inputs_are_one_line(tmp_path: Path) -> None:
    out = run_cli("plot", "--run-dir", str(tmp_path / "nope"))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    last = out.stderr.strip().splitlines()[-1]
    assert last == f"error: {tmp_path / 'nope'} holds no training history or report to plot"
    face = tmp_path / "face.png"
    import cv2

    cv2.imwrite(str(face), np.full((48, 48), 128, np.uint8))
    out = run_cli("predict", "--model", str(tmp_path / "nope.onnx"), str(face))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines()[-1] == (
        f"error: model file {tmp_path / 'nope.onnx'} does not exist"
    )
