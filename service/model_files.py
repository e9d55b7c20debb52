"""The contract between the exporters (``training/``) and the loaders (``service/``).

A bundled model is an ONNX file that describes itself in ``metadata_props`` (string values,
JSON-encoded unless plain strings) and has a JSON card beside it (``<name>.card.json``). Every
writer of a model file (``training``'s export and quantize, the ``converters``) publishes it
through ``publish`` and the service and tests read through this module, so a key, the card's
shape or the publish sequence changes in one place. No TensorFlow, no ``onnx`` package: the
service imports it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# metadata_props keys every bundled model carries
NAME, KIND, VERSION, CREATED = "name", "kind", "version", "created"
PARITY, EXPORTED_WITH = "parity", "exported_with"
# what every card says, whatever the model: which model, which version, which exact file, when
SHA256 = "sha256"
CORE_KEYS = (NAME, VERSION, SHA256, CREATED)
# the parity entry's fields, whatever the check
PARITY_FIELDS = ("max_abs_diff", "tolerance", "passed")
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


def _card(
    data: Path, model: Path, metadata: Mapping[str, Any], extra: Mapping[str, Any]
) -> dict[str, Any]:
    """The card of ``model`` whose bytes are (for now) in ``data``; ValueError when incomplete."""
    card = {
        **metadata,
        "file": model.name,
        SHA256: sha256_of(data),
        "bytes": data.stat().st_size,
    }
    card.update(extra)
    missing = [k for k in (*CORE_KEYS, KIND, PARITY) if not card.get(k)]
    if missing or not set(PARITY_FIELDS) <= set(card[PARITY]):
        raise ValueError(f"model card for {model} lacks {missing or 'parity fields'}")
    return card


def write_card(model: Path, metadata: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    """Write the model card: the file's metadata, its name, SHA-256 and size, and ``extra``.

    Every card has the core keys (``name``, ``version``, ``sha256``, ``created``), ``kind`` and
    ``parity`` (a mapping with at least ``max_abs_diff``, ``tolerance`` and ``passed``); raises
    ValueError, writing nothing, when one is missing.
    """
    card = _card(model, model, metadata, extra)
    card_path(model).write_text(json.dumps(card, indent=2) + "\n")
    return card


class Staged:
    """A model file on its way to ``final``: written to ``path``, checked, then described.

    ``publish`` yields one. Write the candidate to ``path``; call ``check`` with the parity
    check's result; then ``describe`` what the card says. ``card`` is the written card once the
    ``with`` block is left (None when nothing was described).
    """

    def __init__(self, final: Path) -> None:
        self.final = final
        self.path = staging_path(final)
        self.parity: dict[str, Any] | None = None
        self.card: dict[str, Any] | None = None
        self._described: tuple[dict[str, Any], dict[str, Any]] | None = None

    def check(self, parity: Mapping[str, Any], error: Callable[[Path], Exception]) -> None:
        """Record the check (``parity["passed"]`` says whether it passed). A failed one keeps
        the candidate as ``*.onnx.rejected`` and raises ``error(<rejected path>)``."""
        if not parity["passed"]:
            rejected = rejected_path(self.final)
            self.path.replace(rejected)
            raise error(rejected)
        self.parity = dict(parity)

    def describe(self, metadata: Mapping[str, Any], **extra: Any) -> None:
        """What the card says besides the file's name, SHA-256, size and parity (``write_card``)."""
        self._described = dict(metadata), extra


@contextmanager
def publish(final: Path) -> Iterator[Staged]:
    """The one way a model file is published: stage, check, move to ``final`` (or reject), card.

    ::

        with publish(out) as staged:
            save(model, staged.path)
            staged.check(parity_of(staged.path), lambda kept: MyError(f"...; kept as {kept}"))
            staged.describe(metadata, **extra)
        return staged.card

    On leaving the block the candidate moves to ``final`` and its card (with the checked
    ``parity``) is written beside it, but only when it passed its check and a described card has
    every key ``write_card`` requires (ValueError otherwise, before anything moves). A failed
    check leaves ``*.onnx.rejected``; an exception leaves no staging file behind.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    staged = Staged(final)
    try:
        yield staged
        if staged.parity is None:
            raise ValueError(f"{final.name} was not checked before publishing")
        card = None
        if staged._described is not None:
            metadata, extra = staged._described
            card = _card(staged.path, final, metadata, {PARITY: staged.parity, **extra})
        staged.path.replace(final)
        if card is not None:
            card_path(final).write_text(json.dumps(card, indent=2) + "\n")
            staged.card = card
    finally:
        staged.path.unlink(missing_ok=True)  # whatever a failure left half made


def read_card(model: Path) -> dict[str, Any]:
    """The card beside ``model``."""
    return dict(json.loads(card_path(model).read_text()))
