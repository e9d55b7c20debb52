"""The contract between the exporters (``training/``) and the loaders (``service/``).

A bundled model is an ONNX file that describes itself in ``metadata_props`` (string values,
JSON-encoded unless plain strings) and has a JSON card beside it (``<name>.card.json``). Both
exporters write through this module and the service and tests read through it, so a key or the
card's shape changes in one place. No TensorFlow, no ``onnx`` package: the service imports it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# metadata_props keys every bundled model carries
NAME, KIND, VERSION, CREATED = "name", "kind", "version", "created"
PARITY, EXPORTED_WITH = "parity", "exported_with"
# the emotion classifier's
LABELS, CROP = "labels", "crop"
# a face detector's: BlazeFace's anchor layout, YuNet's strides, and how its boxes sit in a
# FER-2013 crop ({"box_share": box side / crop side, "center_shift": crop centre below the box
# centre, as a share of the box height})
ANCHORS, STRIDES, FRAMING = "anchors", "strides", "framing"

EMOTION_CLASSIFIER, FACE_DETECTOR = "emotion_classifier", "face_detector"


def encode_metadata(values: Mapping[str, Any]) -> dict[str, str]:
    """metadata_props values: strings as they are, everything else as JSON."""
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}


def decode_metadata(props: Mapping[str, str]) -> dict[str, Any]:
    """The inverse of ``encode_metadata``: JSON values decoded, plain strings kept."""
    decoded: dict[str, Any] = {}
    for key, value in props.items():
        try:
            decoded[key] = json.loads(value)
        except ValueError:
            decoded[key] = value
    return decoded


def created_now() -> str:
    """The ``created`` timestamp: UTC, ISO 8601, seconds."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def staging_path(final: Path) -> Path:
    """Where an export is written until its parity check passes (then renamed to ``final``)."""
    return final.with_suffix(".onnx.partial")


def rejected_path(final: Path) -> Path:
    """Where an export that failed its parity check is kept for inspection."""
    return final.with_suffix(".onnx.rejected")


def card_path(model: Path) -> Path:
    """``<name>.card.json`` beside ``<name>.onnx``."""
    return model.with_suffix(".card.json")


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_card(model: Path, metadata: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    """Write the model card: the file's metadata, its name, SHA-256 and size, and ``extra``.

    Every card has ``name``, ``kind``, ``created`` and ``parity`` (a mapping with at least
    ``max_abs_diff``, ``tolerance`` and ``passed``); raises ValueError when one is missing.
    """
    card = {
        **metadata,
        "file": model.name,
        "sha256": sha256_of(model),
        "bytes": model.stat().st_size,
    }
    card.update(extra)
    missing = [k for k in (NAME, KIND, CREATED, PARITY) if k not in card]
    if missing or not {"max_abs_diff", "tolerance", "passed"} <= set(card[PARITY]):
        raise ValueError(f"model card for {model} lacks {missing or 'parity fields'}")
    card_path(model).write_text(json.dumps(card, indent=2) + "\n")
    return card


def read_card(model: Path) -> dict[str, Any]:
    """The card beside ``model``."""
    return dict(json.loads(card_path(model).read_text()))
