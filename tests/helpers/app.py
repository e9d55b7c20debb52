"""An in-process app on the bundled model (``TestClient``), and images encoded and posted the
ways clients send them."""

from __future__ import annotations

import time
from typing import Any

import cv2
import httpx
import numpy as np
from fastapi.testclient import TestClient

from service.config import Settings
from service.main import create_app


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


def encode(image: np.ndarray, ext: str = ".jpg", **params: int) -> bytes:
    """Encode with OpenCV (JPEG quality 90 unless told)."""
    flags: list[int] = []
    if ext == ".jpg":
        flags = [cv2.IMWRITE_JPEG_QUALITY, params.get("quality", 90)]
    ok, buf = cv2.imencode(ext, image, flags)
    assert ok
    return buf.tobytes()


def post_image(
    client: TestClient, data: bytes, name: str = "face.jpg", mime: str = "image/jpeg", **params: Any
) -> httpx.Response:
    """POST one image to /v1/predict as multipart field ``file``."""
    return client.post("/v1/predict", files={"file": (name, data, mime)}, params=params)
