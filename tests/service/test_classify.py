"""POST /v1/classify: already-cropped faces, each used whole, answered in input order in one
model batch; the answer is the model's own on the same crops, and one unusable part refuses the
request naming it."""

from __future__ import annotations

import re

import cv2
import numpy as np
import onnxruntime as ort
from fastapi.testclient import TestClient

from service.config import Settings
from tests.helpers.app import encode, make_client, wait_until_ready
from tests.helpers.paths import EMOTION_FOLDERS, FER_DATA, needs_fer_data
from tests.helpers.uploads import tiff_pages

Part = tuple[str, tuple[str, bytes, str]]


def parts(named: list[tuple[str, bytes]]) -> list[Part]:
    return [("file", (name, data, "application/octet-stream")) for name, data in named]


def model_direct(grays: list[np.ndarray]) -> np.ndarray:
    """The classifier file run by onnxruntime itself on whole crops, resized to its crop size."""
    settings = Settings()
    session = ort.InferenceSession(str(settings.classifier_file()))
    size = session.get_inputs()[0].shape[1]
    batch = np.stack(
        [
            cv2.resize(
                g, (size, size),
                interpolation=cv2.INTER_AREA if max(g.shape) > size else cv2.INTER_LINEAR,
            ).astype(np.float32)[..., None]
            for g in grays
        ]
    )  # fmt: skip
    return np.asarray(session.run(None, {session.get_inputs()[0].name: batch})[0])


def scores_of(answer: dict) -> np.ndarray:
    return np.array([[c["scores"][label] for label in c["scores"]] for c in answer["crops"]])


@needs_fer_data
def test_fer2013_val_crops_get_the_models_own_answer_in_input_order(client: TestClient) -> None:
    files = [sorted((FER_DATA / "val" / e).iterdir())[i] for e in EMOTION_FOLDERS for i in (0, 1)]
    response = client.post("/v1/classify", files=parts([(f.name, f.read_bytes()) for f in files]))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert [c["index"] for c in answer["crops"]] == list(range(len(files)))
    assert [c["filename"] for c in answer["crops"]] == [f.name for f in files]
    assert all(c["image"] == {"width": 48, "height": 48} for c in answer["crops"])
    grays = [cv2.imread(str(f), cv2.IMREAD_GRAYSCALE) for f in files]
    direct = model_direct([g for g in grays if g is not None])
    assert len(direct) == len(files)
    np.testing.assert_allclose(scores_of(answer), direct, atol=1e-5)
    labels = list(answer["crops"][0]["scores"])
    assert [c["emotion"] for c in answer["crops"]] == [labels[i] for i in direct.argmax(1)]
    assert all(abs(sum(c["scores"].values()) - 1) < 1e-3 for c in answer["crops"])


def test_photo_crops_of_any_size_and_format_match_the_model_run_directly(
    client: TestClient, astronaut: np.ndarray
) -> None:
    face = astronaut[60:200, 170:290]  # the astronaut's face, 120x140, colour
    gray = cv2.cvtColor(face, cv2.COLOR_BGR2GRAY)
    small = cv2.resize(gray, (30, 30), interpolation=cv2.INTER_AREA)  # enlarged to crop size
    sent = [
        ("face.png", encode(gray, ".png")),
        ("small.png", encode(small, ".png")),
        ("face-16bit.tif", tiff_pages([gray.astype(np.uint16) * 257])),
        ("face-colour.tif", tiff_pages([cv2.cvtColor(face, cv2.COLOR_BGR2RGB)])),
    ]
    response = client.post("/v1/classify", files=parts(sent))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert [c["image"] for c in answer["crops"]] == [
        {"width": 120, "height": 140}, {"width": 30, "height": 30},
        {"width": 120, "height": 140}, {"width": 120, "height": 140},
    ]  # fmt: skip
    scores = scores_of(answer)
    np.testing.assert_allclose(scores[:3], model_direct([gray, small, gray]), atol=1e-5)
    # Colour turns gray in the decoder (its own rounding): close to the gray crop's answer.
    np.testing.assert_allclose(scores[3], scores[0], atol=0.05)
    assert answer["timings_ms"]["total"] >= answer["timings_ms"]["classify"] > 0


def test_one_unusable_part_refuses_the_request_naming_its_index_and_filename(
    client: TestClient, astronaut_jpeg: bytes
) -> None:
    good = ("a.jpg", astronaut_jpeg)
    cases = [
        (("anim.gif", b"GIF89a" + b"\x00" * 64), 415, "unsupported_media_type"),
        (("cut.jpg", astronaut_jpeg[:300]), 422, "undecodable_image"),
        (("empty.png", b""), 422, "empty_image"),
        (("stack.tif", tiff_pages([np.zeros((8, 8), np.uint8)] * 2)), 422, "multi_page_image"),
    ]
    for bad, status, code in cases:
        response = client.post("/v1/classify", files=parts([good, good, bad, good]))
        assert response.status_code == status, response.text
        error = response.json()["error"]
        assert (error["code"], error["index"], error["filename"]) == (code, 2, bad[0])
        assert error["message"].startswith(f"file 2 ({bad[0]}): ")
        assert "crops" not in response.json()


def test_more_parts_than_max_crops_is_413_and_none_is_a_422() -> None:
    with make_client(max_crops=3) as small:
        wait_until_ready(small)
        face = encode(np.full((48, 48), 128, np.uint8), ".png")
        response = small.post("/v1/classify", files=parts([(f"{i}.png", face) for i in range(4)]))
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "too_many_images"
        assert "limit is 3" in response.json()["error"]["message"]
        assert small.post("/v1/classify", files=parts([("a.png", face)] * 3)).status_code == 200
        response = small.post("/v1/classify", data={"other": "x"})
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "invalid_request"


def _metric(text: str, name: str, **labels: str) -> float:
    selector = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = rf"^{name}{{{selector}}} ([\d.e+]+)$" if labels else rf"^{name} ([\d.e+]+)$"
    match = re.search(pattern, text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def test_crops_are_counted_in_metrics_like_predict(
    client: TestClient, astronaut_jpeg: bytes
) -> None:
    before = client.get("/metrics").text
    client.post("/v1/classify", files=parts([("a.jpg", astronaut_jpeg)] * 5))
    after = client.get("/metrics").text
    crops = "fer_crops_classified_total"
    assert _metric(after, crops) - _metric(before, crops) == 5
    route = {"route": "/v1/classify", "status": "200"}
    requests = "fer_http_requests_total"
    assert _metric(after, requests, **route) - _metric(before, requests, **route) == 1
    stage = "fer_stage_seconds_count"
    assert _metric(after, stage, stage="classify") - _metric(before, stage, stage="classify") == 1
