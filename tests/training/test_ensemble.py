"""``python -m training ensemble``: two real fast-dev runs of one recipe averaged in one graph."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort

from tests.helpers.training_cli import onnx_file, run_cli, write_json
from training.data import as_model_input, load_folder_split
from training.labels import EMOTIONS


def probabilities(model: Path, faces: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    return np.asarray(session.run(None, {session.get_inputs()[0].name: faces})[0])


def test_the_ensemble_outputs_the_mean_of_its_members(
    members: list[Path], ensemble_run: Path, small_fer_folder: Path
) -> None:
    faces = as_model_input(load_folder_split(small_fer_folder / "val", progress=False).images)
    ensemble = probabilities(onnx_file(ensemble_run), faces)
    each = [probabilities(onnx_file(run), faces) for run in members]
    assert not np.allclose(each[0], each[1], atol=1e-3)  # two different members
    np.testing.assert_allclose(ensemble, (each[0] + each[1]) / 2, atol=1e-4)


def test_a_calibrated_ensemble_scales_the_mean_by_its_fitted_temperature(
    members: list[Path], small_fer_folder: Path, tmp_path: Path
) -> None:
    from training.calibration import scale

    recipe_dir = members[0].parent
    recipe = write_json(
        tmp_path / "calibrated.json",
        {"name": "tiny-calibrated", "members": [str(recipe_dir / "tiny.json")] * 2},
    )
    done = run_cli("ensemble", "--config", str(recipe), "--members", *map(str, members),
                   "--run-dir", str(tmp_path / "out"))  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    temperature = json.loads((tmp_path / "out" / "report.json").read_text())["temperature"]
    faces = as_model_input(load_folder_split(small_fer_folder / "val", progress=False).images)
    first, second = (probabilities(onnx_file(run), faces) for run in members)
    mean = (first + second) / 2
    got = probabilities(onnx_file(tmp_path / "out"), faces)
    np.testing.assert_allclose(got, scale(mean, temperature["value"]), atol=1e-4)
    assert temperature["faces"] == len(faces) and temperature["value"] != 1.0


def test_the_ensemble_card_reports_val_and_names_its_members(
    members: list[Path], ensemble_run: Path
) -> None:
    card = json.loads(onnx_file(ensemble_run).with_suffix(".card.json").read_text())
    report = json.loads((ensemble_run / "report.json").read_text())
    assert card["name"] == "tiny-pair" and card["backbone"] == "ensemble"
    assert [m["seed"] for m in card["members"]] == [1, 2]
    assert [m["name"] for m in card["members"]] == ["tiny", "tiny"]
    assert card["val_metrics"]["accuracy"] == report["accuracy"]
    assert report["samples"] == 7 * 24 and set(report["per_class"]) == set(EMOTIONS)
    assert card["parity"]["passed"] and card["flip_tta"] is True
    assert (ensemble_run / "plots" / "confusion_matrix.png").is_file()
    described = json.loads((ensemble_run / "ensemble.json").read_text())
    assert [Path(m["run"]) for m in described["members"]] == [Path(r.name) for r in members]


def test_a_member_from_another_recipe_is_refused_in_one_line(
    members: list[Path], tmp_path: Path
) -> None:
    recipe = write_json(
        tmp_path / "pair.json", {"name": "x", "members": ["experiments/other.json"] * 2}
    )
    out = run_cli("ensemble", "--config", str(recipe), "--members", *map(str, members),
                  "--run-dir", str(tmp_path / "out"))  # fmt: skip
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines()[-1].startswith(f"error: {members[0]} was trained from")


def test_a_member_count_that_differs_from_the_recipe_is_refused(
    members: list[Path], tmp_path: Path
) -> None:
    recipe = write_json(tmp_path / "pair.json", {"name": "x", "members": ["a.json", "b.json"]})
    out = run_cli("ensemble", "--config", str(recipe), "--members", str(members[0]),
                  "--run-dir", str(tmp_path / "out"))  # fmt: skip
    assert out.returncode == 2
    assert out.stderr.strip().splitlines()[-1] == (
        "error: the recipe has 2 members, got 1 run directories"
    )
