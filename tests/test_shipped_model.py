"""The model that ships in models/: complete metadata, a card that matches, and honest numbers."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from service.config import BUNDLED_MODEL
from service.model_files import decode_metadata, read_card, sha256_of
from tests.helpers.paths import FER_DATA, needs_fer_data
from training.labels import EMOTIONS

ASSETS = BUNDLED_MODEL.with_suffix("")
LABELS = list(EMOTIONS)
FOLDER_OF = {label: label for label in LABELS}


def test_shipped_model_metadata_is_complete() -> None:
    props = decode_metadata({p.key: p.value for p in onnx.load(str(BUNDLED_MODEL)).metadata_props})
    assert props["labels"] == LABELS
    crop = props["crop"]
    assert (crop["size"], crop["channels"], crop["value_range"]) == (48, 1, [0, 255])
    assert 0 <= crop["margin"] < 0.5
    metrics = props["val_metrics"]
    assert metrics["samples"] == 3589, "metrics must come from the whole FER-2013 val split"
    assert set(metrics["recall"]) == set(LABELS)
    assert props["parity"]["passed"] is True
    assert "ImageNet" in props["weights_source"]
    for key in ("name", "version", "backbone", "exported_with", "created"):
        assert props[key], key
    # The architecture: one network's input size, or an ensemble's members with theirs.
    for network in props["members"] if props["backbone"] == "ensemble" else [props]:
        assert network["backbone"] and network["input_size"] >= 32, network


def test_model_card_describes_this_exact_file() -> None:
    card = read_card(BUNDLED_MODEL)
    assert card["sha256"] == hashlib.sha256(BUNDLED_MODEL.read_bytes()).hexdigest()
    assert card["file"] == BUNDLED_MODEL.name
    assert (BUNDLED_MODEL.parent / "README.md").read_text().count(BUNDLED_MODEL.name) >= 1
    for name in ("confusion_matrix.png", "report.txt"):
        assert (ASSETS / name).is_file(), name
    trained, assets = card, ASSETS
    if "quantization" in card:  # an int8 copy (training.quantize) of a float model shipped beside
        assert card["command"].startswith("python -m training quantize")
        source = card["quantization"]["source"]
        trained = read_card(BUNDLED_MODEL.parent / source["file"])
        assert (
            trained["sha256"]
            == source["sha256"]
            == sha256_of(BUNDLED_MODEL.parent / source["file"])
        )
        assert card["training"] == trained["training"]
        assert card["parity"]["val_accuracy_drop"] <= 0.005
        assets = BUNDLED_MODEL.parent / source["file"].removesuffix(".onnx")
    if trained["backbone"] != "ensemble":
        assert trained["command"].startswith("python -m training train")
        runs = [(trained["training"]["summary"], trained["command"], assets)]
    else:  # an ensemble (training.ensemble): each member run has its curves in a subfolder
        assert trained["command"].startswith("python -m training ensemble")
        members = trained["training"]["ensemble"]["members"]
        assert len(members) == len(trained["members"]) >= 2
        runs = [(m, m["command"], assets / Path(m["recipe"]).stem) for m in members]
    for summary, command, folder in runs:
        assert command.startswith("python -m training train")
        assert summary["train_minutes"] > 0
        for name in ("accuracy.png", "loss.png", "confusion_matrix.png", "history.csv"):
            assert (folder / name).is_file(), folder / name


@needs_fer_data
@pytest.mark.slow
def test_val_accuracy_matches_the_model_card() -> None:
    import cv2

    images: list[np.ndarray] = []
    labels: list[int] = []
    for index, label in enumerate(LABELS):
        for path in sorted((FER_DATA / "val" / FOLDER_OF[label]).glob("*.jpg")):
            images.append(np.asarray(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)))
            labels.append(index)
    x = np.stack(images)[..., None].astype(np.float32)
    card = read_card(BUNDLED_MODEL)
    assert len(labels) == card["val_report"]["samples"] == 3589
    assert val_accuracy(BUNDLED_MODEL, x, labels) == pytest.approx(
        card["val_report"]["accuracy"], abs=0.003
    )
    if "quantization" in card:  # the float32 source scores what the int8 card says it does
        source = card["quantization"]["source"]
        float32 = val_accuracy(BUNDLED_MODEL.parent / source["file"], x, labels)
        assert float32 == pytest.approx(source["val_accuracy"], abs=0.003)
        assert card["val_report"]["accuracy"] >= float32 - 0.005


def val_accuracy(model: Path, x: np.ndarray, labels: list[int]) -> float:
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    probs = np.concatenate(
        [session.run(None, {name: x[i : i + 256]})[0] for i in range(0, len(x), 256)]
    )
    return float((probs.argmax(1) == np.array(labels)).mean())
