"""Fixtures shared by the whole suite; the builders they use live in tests/helpers/."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.fer_folders import write_fer_folder
from devtools.server import start_service
from tests.helpers.paths import HAS_IMAGENET_WEIGHTS, KERAS_WEIGHTS

# Keras reads KERAS_HOME when it is first imported, which may be while test modules are
# collected: set it here, at import of this conftest, not in a fixture.
if HAS_IMAGENET_WEIGHTS:
    os.environ.setdefault("KERAS_HOME", str(KERAS_WEIGHTS))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def small_fer_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """train/ and val/ with 24 real faces per class each."""
    return write_fer_folder(tmp_path_factory.mktemp("fer_small"), per_class=24)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real service under uvicorn, on the bundled model; yields its URL."""
    proc, url = start_service(log=tmp_path_factory.mktemp("live") / "uvicorn.log")
    yield url
    proc.terminate()
    proc.wait(10)
