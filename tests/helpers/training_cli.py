"""Run the training command line as a user would, and find what a run exported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.helpers.paths import ROOT


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m training ARGS`` in a child process (its own Keras backend)."""
    return subprocess.run(
        [sys.executable, "-m", "training", *args],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, **env}, timeout=900,
    )  # fmt: skip


def onnx_file(run_dir: Path) -> Path:
    (path,) = (run_dir / "export").glob("*.onnx")
    return path
