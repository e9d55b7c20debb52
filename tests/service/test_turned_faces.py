"""A face turned in the picture gets the answer it gets upright (the turned-face field case and
its kind): the crop is turned upright from the keypoints over the full circle, and faces the
detector cannot see turned are found by the rotation search."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from devtools.crowds import crowd, paste_face
from service.config import Settings
from service.engine import Engine
from tests.helpers.app import encode, make_client, post_image, wait_until_ready
from tests.helpers.field_cases import FIELD_CASES, read

UPRIGHT = FIELD_CASES / "face-upright-640x480.jpg"
TURNED_90CW = FIELD_CASES / "face-turned-90cw-no-exif-480x640.jpg"
TURNS = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


@pytest.fixture(scope="module", params=["blazeface", "yunet"])
def engine(request: pytest.FixtureRequest) -> Engine:
    return Engine.from_settings(Settings(detector=request.param))


def assert_same_answer(turned: dict, upright: dict) -> None:
    """The same top emotion, every score within 0.1 (the field case's right answer)."""
    assert turned["emotion"] == upright["emotion"]
    for label, p in upright["scores"].items():
        assert abs(turned["scores"][label] - p) <= 0.1, (label, turned["scores"], p)


def test_the_turned_field_case_gets_the_upright_answer(client: TestClient) -> None:
    (upright,) = post_image(client, UPRIGHT.read_bytes()).json()["faces"]
    (turned,) = post_image(client, TURNED_90CW.read_bytes()).json()["faces"]
    b = turned["box"]
    near = 0.25 * b["w"]  # the field case's centre, within a quarter of the face
    assert abs(b["x"] + b["w"] / 2 - 374) < near and abs(b["y"] + b["h"] / 2 - 275) < near
    assert turned["roll"] == pytest.approx(90, abs=15)
    assert abs(upright["roll"]) < 10
    assert_same_answer(turned, upright)


def test_every_quarter_turn_gets_the_upright_answer(engine: Engine) -> None:
    frame = read(UPRIGHT)
    labels = engine.model.labels
    (upright,) = engine.analyze(encode(frame), engine.limits()).faces
    for degrees, code in TURNS.items():
        (face,) = engine.analyze(encode(cv2.rotate(frame, code)), engine.limits()).faces
        roll = face.detection.roll_degrees
        assert roll is not None and abs((roll - degrees + 180) % 360 - 180) < 20, (degrees, roll)
        assert (
            labels[int(face.probabilities.argmax())] == labels[int(upright.probabilities.argmax())]
        )
        assert np.abs(face.probabilities - upright.probabilities).max() <= 0.1, degrees


# Every 15 degrees of the full circle; 120-240 degrees are the faces BlazeFace finds upside down
# with keypoints laid out as if upright, put right by the orientation check.
@pytest.mark.parametrize("degrees", range(0, 360, 15))
def test_a_face_turned_any_angle_is_found_and_its_roll_measured(degrees: int) -> None:
    engine = BLAZEFACE
    frame = np.full((480, 640, 3), 110, np.uint8)
    paste_face(frame, 260, 170, 130, degrees=float(degrees))  # counter-clockwise
    faces = engine.analyze(encode(frame), engine.limits()).faces
    assert len(faces) == 1
    roll = faces[0].detection.roll_degrees
    assert roll is not None and abs((roll + degrees + 180) % 360 - 180) < 20, roll


BLAZEFACE = Engine.from_settings(Settings())


@pytest.mark.parametrize("side", [60, 250])
@pytest.mark.parametrize("degrees", [150, 180, 210])
def test_an_upside_down_face_of_any_size_is_turned_right_way_up(side: int, degrees: int) -> None:
    frame = np.full((480, 640, 3), 110, np.uint8)
    paste_face(frame, 320 - side // 2, 240 - side // 2, side, degrees=float(degrees))
    (face,) = BLAZEFACE.analyze(encode(frame), BLAZEFACE.limits()).faces
    roll = face.detection.roll_degrees
    assert roll is not None and abs((roll + degrees + 180) % 360 - 180) < 20, roll


@pytest.mark.parametrize("side", [40, 60, 80])
def test_the_orientation_check_leaves_an_upright_crowd_upright(side: int) -> None:
    frame, faces = crowd(1600, 1000, side, 40, seed=3)
    found = BLAZEFACE.detector.detect(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), 20, 100)
    assert len(found) >= 0.9 * len(faces)
    rolls = [d.roll_degrees for d in found]
    assert all(r is not None and abs(r) < 30 for r in rolls), rolls  # faces are turned +-10


def test_the_rotation_search_can_be_turned_off() -> None:
    upside_down = encode(cv2.rotate(read(UPRIGHT), cv2.ROTATE_180))
    with make_client(rotation_search=False) as off:
        wait_until_ready(off)
        assert post_image(off, upside_down).json()["faces"] == []
    assert len(BLAZEFACE.analyze(upside_down, BLAZEFACE.limits()).faces) == 1
