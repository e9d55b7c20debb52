"""Fixtures: a running app on the bundled model, and real photos encoded as clients send them."""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from devtools.photos import sample_photo
from tests.helpers.app import encode, make_client, wait_until_ready


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with make_client() as c:
        wait_until_ready(c)
        yield c


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


@pytest.fixture(scope="session")
def three_faces_jpeg(three_faces: np.ndarray) -> bytes:
    return encode(three_faces)
