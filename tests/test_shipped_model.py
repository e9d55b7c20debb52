"""The models that ship in models/: complete metadata, cards that match, and honest numbers.

Two classifiers are served from models/: the default (``service.config.BUNDLED_MODEL``) and the
FER-2013-label alternative (``FER2013_MODEL``); each is an int8 copy of a float32 source that
ships beside it. Both are re-scored on val against both label sets.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from service.config import BUNDLED_MODEL, FER2013_LABEL_MODEL
from service.model_files import CORE_KEYS, KIND, PARITY, decode_metadata, read_card, sha256_of
from tests.helpers.paths import FER_DATA, needs_fer_data
from training.labels import EMOTIONS

FER2013_MODEL = FER2013_LABEL_MODEL
SHIPPED = sorted({BUNDLED_MODEL, FER2013_MODEL})
LABELS = list(EMOTIONS)
# The bar a FER+ model must clear to be the default (README, "The bundled model").
DEFAULT_FERPLUS_TOP1, DEFAULT_MAX_ECE, MIN_RECALL, RECALL_MIN_FACES = 0.85, 0.02, 0.45, 50

shipped = pytest.mark.parametrize("model", SHIPPED, ids=lambda p: p.stem)
EVERY_MODEL = sorted(BUNDLED_MODEL.parent.glob("*.onnx"))


def metadata(model: Path) -> dict[str, Any]:
    return decode_metadata({p.key: p.value for p in onnx.load(str(model)).metadata_props})


@shipped
def test_shipped_model_metadata_is_complete(model: Path) -> None:
    props = metadata(model)
    assert props["labels"] == LABELS
    crop = props["crop"]
    assert isinstance(crop, dict)
    assert (crop["size"], crop["channels"], crop["value_range"]) == (48, 1, [0, 255])
    assert 0 <= crop["margin"] < 0.5
    metrics = props["val_metrics"]
    assert isinstance(metrics, dict)
    assert metrics["samples"] == 3589, "metrics must come from the whole FER-2013 val split"
    assert set(metrics["recall"]) == set(LABELS)
    if props.get("targets") == "ferplus":  # scored against the FER+ majority, counts stated
        assert (metrics["ferplus"]["samples"], metrics["ferplus"]["left_out"]) == (3372, 217)
        assert float(str(props["temperature"])) > 0
    assert props["parity"]["passed"] is True
    assert "ImageNet" in str(props["weights_source"])
    for key in ("name", "version", "backbone", "exported_with", "created"):
        assert props[key], key
    # The architecture: one network's input size, or an ensemble's members with theirs.
    networks = props["members"] if props["backbone"] == "ensemble" else [props]
    for network in networks:
        assert network["backbone"] and network["input_size"] >= 32, network


def test_the_default_is_the_fer_plus_model_and_clears_its_bar() -> None:
    props = metadata(BUNDLED_MODEL)
    assert props["targets"] == "ferplus"
    fp = props["val_metrics"]["ferplus"]
    assert fp["accuracy"] >= DEFAULT_FERPLUS_TOP1 and fp["ece"] <= DEFAULT_MAX_ECE
    support = read_card(BUNDLED_MODEL)["val_report"]["ferplus"]["per_class"]
    for label in LABELS:
        if support[label]["support"] >= RECALL_MIN_FACES:
            assert fp["recall"][label] >= MIN_RECALL, label
    assert metadata(FER2013_MODEL).get("targets", "fer2013") == "fer2013"


@pytest.mark.parametrize("model", EVERY_MODEL, ids=lambda p: p.stem)
def test_every_card_has_the_core_keys(model: Path) -> None:
    """Classifier or detector, every card in models/ names its model, version, file and day."""
    card = read_card(model)
    for key in (*CORE_KEYS, KIND):
        assert card.get(key), key
    assert card["sha256"] == sha256_of(model) and card["file"] == model.name
    assert card[PARITY]["passed"] is True


@shipped
def test_model_card_describes_this_exact_file(model: Path) -> None:
    card = read_card(model)
    assert card["sha256"] == hashlib.sha256(model.read_bytes()).hexdigest()
    assert card["file"] == model.name
    assert (model.parent / "README.md").read_text().count(model.name) >= 1
    trained, assets = card, model.with_suffix("")
    if "quantization" in card:  # an int8 copy (training.quantize) of a float model shipped beside
        assert card["command"].startswith("python -m training quantize")
        source = card["quantization"]["source"]
        trained = read_card(model.parent / source["file"])
        assert trained["sha256"] == source["sha256"] == sha256_of(model.parent / source["file"])
        assert card["training"] == trained["training"]
        assert card["parity"]["val_accuracy_drop"] <= 0.005
        assets = model.parent / source["file"].removesuffix(".onnx")
    for name in ("confusion_matrix.png", "report.txt"):
        assert (assets / name).is_file(), assets / name
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
@shipped
def test_val_numbers_match_the_model_card(model: Path) -> None:
    """Re-score the file on val against both label sets; the card must say what it does."""
    from training.data import as_model_input, load_splits
    from training.report import val_report

    val = load_splits(FER_DATA).val
    x = as_model_input(val.images)
    card = read_card(model)
    report = val_report(val.labels, val.votes, probabilities(model, x))
    assert report["samples"] == card["val_report"]["samples"] == 3589
    assert report["accuracy"] == pytest.approx(card["val_report"]["accuracy"], abs=0.003)
    if "ferplus" in card["val_report"]:
        claimed = card["val_report"]["ferplus"]
        assert report["ferplus"]["accuracy"] == pytest.approx(claimed["accuracy"], abs=0.003)
        assert report["ferplus"]["calibration"]["ece"] == pytest.approx(
            claimed["calibration"]["ece"], abs=0.003
        )
    if "quantization" in card:  # the float32 source scores what the int8 card says it does
        source = card["quantization"]["source"]
        targets = source.get("targets", "fer2013")
        float32 = val_report(val.labels, val.votes, probabilities(model.parent / source["file"], x))
        part = float32["ferplus"] if targets == "ferplus" else float32
        assert part["accuracy"] == pytest.approx(source["val_accuracy"], abs=0.003)


def probabilities(model: Path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return np.concatenate(
        [session.run(None, {name: x[i : i + 256]})[0] for i in range(0, len(x), 256)]
    )
