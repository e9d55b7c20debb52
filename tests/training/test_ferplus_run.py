"""A real fast-dev run on FER+ targets: the report scores both label sets, and the exported graph
carries the temperature fitted on val."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from tests.helpers.paths import FERPLUS_VOTES, needs_ferplus
from tests.helpers.training_cli import onnx_file, run_cli
from training.data import as_model_input, load_splits

pytestmark = needs_ferplus


@pytest.fixture(scope="module")
def ferplus_run(small_fer_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("ferplus") / "run"
    done = run_cli(
        "train", "--data", str(small_fer_folder), "--run-dir", str(run_dir),
        "--backend", "tensorflow", "--weights", "none", "--input-size", "48", "--alpha", "0.25",
        "--batch-size", "16", "--frozen-epochs", "0", "--targets", "ferplus",
        "--ferplus-votes", str(FERPLUS_VOTES), "--fast-dev-run",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "against the FER+ majority" in done.stdout
    return run_dir


def test_report_scores_fer_plus_majority_and_fer2013_labels(ferplus_run: Path) -> None:
    report = json.loads((ferplus_run / "report.json").read_text())
    fp = report["ferplus"]
    assert report["targets"] == "ferplus"
    # Every val face is either scored against its majority or counted as left out.
    assert fp["samples"] + fp["left_out"] == report["samples"] == 7 * 24
    assert sum(map(sum, fp["confusion_matrix"])) == fp["samples"]
    assert 0 <= fp["annotator_agreement"] <= 1 and fp["soft_cross_entropy"] > 0
    assert len(fp["calibration"]["bins"]) == 15
    text = (ferplus_run / "report.txt").read_text()
    assert "FER+ majority" in text and "FER-2013 labels" in text and "temperature" in text
    for plot in ("reliability.png", "confusion_matrix_ferplus.png"):
        assert (ferplus_run / "plots" / plot).read_bytes()[:4] == b"\x89PNG"


def test_exported_graph_applies_the_fitted_temperature(
    ferplus_run: Path, small_fer_folder: Path
) -> None:
    import keras

    from training.calibration import scale
    from training.inference import predict_probs

    report = json.loads((ferplus_run / "report.json").read_text())
    temperature = report["temperature"]["value"]
    path = onnx_file(ferplus_run)
    assert path.name.startswith("ferplus-")
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert json.loads(props["temperature"]) == pytest.approx(temperature)
    assert props["targets"] == "ferplus"  # strings are stored as they are
    metrics = json.loads(props["val_metrics"])
    assert metrics["ferplus"]["accuracy"] == pytest.approx(report["ferplus"]["accuracy"])
    assert metrics["ferplus"]["ece"] == pytest.approx(report["ferplus"]["calibration"]["ece"])

    faces = load_splits(small_fer_folder).val.images[:64]
    model = keras.models.load_model(str(ferplus_run / "checkpoints" / "best.keras"))
    expected = scale(predict_probs(model, faces), temperature)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: as_model_input(faces)})[0]
    assert np.abs(got - expected).max() < 1e-4
    assert temperature != pytest.approx(1.0)
