"""Run the training command line as a user would, write its recipe files, and find what a run
exported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.helpers.paths import ROOT

# A recipe that trains in seconds: the ensemble tests' members.
MEMBER_RECIPE = {
    "weights": "none", "input_size": 48, "alpha": 0.25, "batch_size": 16, "frozen_epochs": 1,
    "epochs": 1, "fast_dev_run": True, "calibrate": False,
}  # fmt: skip


def write_json(path: Path, values: dict[str, object]) -> Path:
    """``values`` as a JSON file at ``path`` (a recipe)."""
    path.write_text(json.dumps(values))
    return path


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m training ARGS`` in a child process (its own Keras backend)."""
    return subprocess.run(
        [sys.executable, "-m", "training", *args],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, **env}, timeout=900,
    )  # fmt: skip


def onnx_file(run_dir: Path) -> Path:
    (path,) = (run_dir / "export").glob("*.onnx")
    return path
