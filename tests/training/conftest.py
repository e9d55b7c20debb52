"""Fixtures: runs shared by the training tests, two fast-dev members of one recipe and their
ensemble."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.training_cli import MEMBER_RECIPE, run_cli, write_json


@pytest.fixture(scope="session")
def members(small_fer_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two fast-dev runs of one recipe file, seeds 1 and 2."""
    root = tmp_path_factory.mktemp("ensemble")
    recipe = write_json(root / "tiny.json", MEMBER_RECIPE)
    runs = []
    for seed in (1, 2):
        run_dir = root / f"seed{seed}"
        done = run_cli(
            "train", "--config", str(recipe), "--data", str(small_fer_folder),
            "--run-dir", str(run_dir), "--seed", str(seed),
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        runs.append(run_dir)
    return runs


@pytest.fixture(scope="session")
def ensemble_run(members: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    recipe_dir = members[0].parent
    recipe = write_json(
        recipe_dir / "pair.json",
        {"name": "tiny-pair", "members": [str(recipe_dir / "tiny.json")] * 2, "calibrate": False},
    )
    out = tmp_path_factory.mktemp("ensemble_out")
    done = run_cli(
        "ensemble", "--config", str(recipe), "--members", *map(str, members),
        "--run-dir", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ensemble val accuracy" in done.stdout
    return out
