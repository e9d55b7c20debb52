"""A running app on the bundled model, and real photos encoded the ways clients send them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient

from service.config import Settings
from service.main import create_app
from tests.helpers.photos import sample_photo


def wait_until_ready(client: TestClient, timeout: float = 30.0) -> None:
    """Poll /readyz until the model is warm."""
    deadline = time.monotonic() + timeout
    while client.get("/readyz").status_code != 200:
        if time.monotonic() > deadline:
            raise TimeoutError("the app did not become ready")
        time.sleep(0.05)


def make_client(**overrides: object) -> TestClient:
    """A TestClient over an app built from settings with the given overrides."""
    return TestClient(create_app(Settings(**overrides)))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with make_client() as c:
        wait_until_ready(c)
        yield c


def encode(image: np.ndarray, ext: str = ".jpg", **params: int) -> bytes:
    """Encode with OpenCV (JPEG quality 90 unless told)."""
    flags: list[int] = []
    if ext == ".jpg":
        flags = [cv2.IMWRITE_JPEG_QUALITY, params.get("quality", 90)]
    ok, buf = cv2.imencode(ext, image, flags)
    assert ok
    return buf.tobytes()


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """Eileen Collins, smiling, one face (scikit-image sample, public domain), 512x512 BGR."""
    return sample_photo("astronaut")


@pytest.fixture(scope="session")
def astronaut_jpeg(astronaut: np.ndarray) -> bytes:
    return encode(astronaut)


@pytest.fixture(scope="session")
def no_face_jpeg() -> bytes:
    """A cup of coffee: no face anywhere."""
    return encode(sample_photo("coffee"))


@pytest.fixture(scope="session")
def three_faces(astronaut: np.ndarray) -> np.ndarray:
    """Three copies of the astronaut's head and shoulders side by side on one 1200x400 frame."""
    head = cv2.resize(astronaut[0:300, 100:350], (250, 300))
    canvas = np.full((400, 1200, 3), 90, np.uint8)
    for i in range(3):
        canvas[50:350, 100 + i * 375 : 350 + i * 375] = head
    return canvas


def post_image(
    client: TestClient, data: bytes, name: str = "face.jpg", mime: str = "image/jpeg", **params: Any
) -> httpx.Response:
    """POST one image to /v1/predict as multipart field ``file``."""
    return client.post("/v1/predict", files={"file": (name, data, mime)}, params=params)


@pytest.fixture(scope="session")
def three_faces_jpeg(three_faces: np.ndarray) -> bytes:
    return encode(three_faces)
