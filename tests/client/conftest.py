"""Fixtures: a real service that wants an API key, a client for it, and media made from real
photos."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.media import write_clip, write_photo_folder
from devtools.server import start_service
from fer_client import Client
from tests.helpers.client_service import API_KEY, CLIP_FRAMES


@pytest.fixture(scope="session")
def service_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """uvicorn on the bundled models, with ``FER_API_KEYS`` set; yields its URL."""
    log = tmp_path_factory.mktemp("client-service") / "uvicorn.log"
    proc, url = start_service(env={"FER_API_KEYS": API_KEY}, log=log)
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="session")
def client(service_url: str) -> Iterator[Client]:
    with Client(service_url, API_KEY) as c:
        yield c


@pytest.fixture(scope="session")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1.5 s of 640x480 at 30 fps: one face crosses the frame, another leaves it."""
    return write_clip(tmp_path_factory.mktemp("clip") / "clip.mp4", CLIP_FRAMES)


@pytest.fixture(scope="session")
def photo_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    """A folder tree of photos with and without faces; the expected face count of each."""
    root = tmp_path_factory.mktemp("photos")
    return root, write_photo_folder(root)
