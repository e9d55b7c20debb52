"""The one publish sequence every model file goes through: stage, check, publish or reject, card."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from service.model_files import (
    CORE_KEYS,
    card_path,
    publish,
    read_card,
    rejected_path,
    sha256_of,
    staging_path,
    write_card,
)

METADATA = {"name": "tiny", "kind": "face_detector", "version": "2026-01-02",
            "created": "2026-01-02T03:04:05+00:00"}  # fmt: skip
PASSED = {"max_abs_diff": 0.0, "tolerance": 1e-4, "passed": True}
FAILED = {"max_abs_diff": 1.0, "tolerance": 1e-4, "passed": False}


class CheckFailed(Exception):
    pass


def refused(kept: Path) -> Exception:
    return CheckFailed(f"kept as {kept}")


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_checked_file_is_published_with_a_card_of_the_core_keys(tmp_path: Path) -> None:
    out = tmp_path / "models" / "tiny.onnx"  # the folder is made
    with publish(out) as staged:
        assert staged.path == staging_path(out)
        staged.path.write_bytes(b"model")
        staged.check(PASSED, refused)
        staged.path.write_bytes(b"model with its parity")  # changes after the check are kept
        staged.describe(METADATA, command="make it")
        assert not out.exists()
    assert out.read_bytes() == b"model with its parity"
    assert files(out.parent) == ["tiny.card.json", "tiny.onnx"]
    card = read_card(out)
    assert card == staged.card
    assert {k: card[k] for k in CORE_KEYS} == {
        "name": "tiny", "version": "2026-01-02", "sha256": sha256_of(out),
        "created": "2026-01-02T03:04:05+00:00",
    }  # fmt: skip
    assert (card["file"], card["bytes"], card["parity"], card["command"]) == (
        "tiny.onnx", len(b"model with its parity"), PASSED, "make it"
    )  # fmt: skip


def test_a_failed_check_keeps_the_file_as_rejected_and_raises(tmp_path: Path) -> None:
    out = tmp_path / "tiny.onnx"
    with pytest.raises(CheckFailed, match=r"kept as .*tiny\.onnx\.rejected$"):
        with publish(out) as staged:
            staged.path.write_bytes(b"model")
            staged.check(FAILED, refused)
            staged.describe(METADATA)
    assert files(tmp_path) == ["tiny.onnx.rejected"]
    assert rejected_path(out).read_bytes() == b"model"


@pytest.mark.parametrize(
    "body",
    ["raises", "never checks", "card lacks a core key"],
)
def test_nothing_half_made_is_left_behind(tmp_path: Path, body: str) -> None:
    out = tmp_path / "tiny.onnx"
    with pytest.raises((RuntimeError, ValueError)):
        with publish(out) as staged:
            staged.path.write_bytes(b"half a model")
            if body == "raises":
                raise RuntimeError("the converter broke")
            if body == "card lacks a core key":
                staged.check(PASSED, refused)
                staged.describe({k: v for k, v in METADATA.items() if k != "version"})
    assert files(tmp_path) == []


def test_without_a_description_only_the_file_is_published(tmp_path: Path) -> None:
    out = tmp_path / "tiny.onnx"
    with publish(out) as staged:
        staged.path.write_bytes(b"model")
        staged.check(PASSED, refused)
    assert files(tmp_path) == ["tiny.onnx"] and staged.card is None


# sha256 is the one core key write_card works out itself (from the file), so it is never missing
@pytest.mark.parametrize("key", [k for k in (*CORE_KEYS, "kind", "parity") if k != "sha256"])
def test_write_card_requires_the_core_keys_kind_and_parity(tmp_path: Path, key: str) -> None:
    model = tmp_path / "tiny.onnx"
    model.write_bytes(b"model")
    fields: dict[str, Any] = {**METADATA, "parity": PASSED}
    del fields[key]
    with pytest.raises(ValueError, match="lacks"):
        write_card(model, fields)
    assert not card_path(model).exists()
