"""POST /v1/predict on real photos: faces, boxes, scores, formats, limits and errors."""

from __future__ import annotations

import io
import json
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.helpers.app import encode, make_client, post_image, wait_until_ready
from tests.helpers.live import png_header_only
from training.labels import EMOTIONS


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body


def test_one_real_face_gets_a_sensible_box_and_scores(
    client: TestClient, astronaut_jpeg: bytes
) -> None:
    r = post_image(client, astronaut_jpeg)
    assert r.status_code == 200
    body = r.json()
    assert body["image"] == {"width": 512, "height": 512}
    (face,) = body["faces"]
    box = face["box"]
    # The astronaut's face spans roughly x 170-280, y 60-170 in the 512x512 photo.
    assert 150 <= box["x"] <= 200 and 40 <= box["y"] <= 90
    assert 80 <= box["w"] <= 130 and abs(box["w"] - box["h"]) <= 0.15 * box["w"]
    assert tuple(face["scores"]) == EMOTIONS
    assert sum(face["scores"].values()) == pytest.approx(1.0, abs=1e-4)
    assert face["emotion"] == max(face["scores"], key=face["scores"].get)
    assert face["confidence"] == face["scores"][face["emotion"]]
    assert 0 < face["detector_score"] <= 1
    # The answer names the file's own model (its metadata), not a fixed string.
    assert body["model"]["name"] == client.get("/v1/model").json()["name"]
    assert set(body["timings_ms"]) == {"decode", "detect", "classify", "total"}


def test_a_clearly_smiling_face_is_classified_happy(
    client: TestClient, astronaut_jpeg: bytes
) -> None:
    (face,) = post_image(client, astronaut_jpeg).json()["faces"]
    assert face["emotion"] == "happy"
    assert face["scores"]["happy"] > 0.4


def test_an_image_without_faces_gives_an_empty_list(
    client: TestClient, no_face_jpeg: bytes
) -> None:
    r = post_image(client, no_face_jpeg)
    assert r.status_code == 200
    assert r.json()["faces"] == []
    assert r.json()["image"] == {"width": 600, "height": 400}


def test_several_faces_are_classified_in_one_batch(three_faces: np.ndarray) -> None:
    with make_client() as c:
        wait_until_ready(c)
        model = c.app.state.fer.model  # type: ignore[attr-defined]
        batches: list[int] = []
        real_classify = model.classify

        def recording_classify(crops: np.ndarray) -> np.ndarray:
            batches.append(len(crops))
            return real_classify(crops)

        model.classify = recording_classify
        body = post_image(c, encode(three_faces)).json()
    assert len(body["faces"]) == 3
    assert batches == [3]
    xs = sorted(f["box"]["x"] for f in body["faces"])
    assert xs[1] - xs[0] > 300 and xs[2] - xs[1] > 300
    emotions = {f["emotion"] for f in body["faces"]}
    assert len(emotions) == 1  # same face, same answer


def test_max_faces_and_min_face_size_are_honoured(
    client: TestClient, three_faces: np.ndarray
) -> None:
    data = encode(three_faces)
    assert len(post_image(client, data, max_faces=2).json()["faces"]) == 2
    assert post_image(client, data, min_face_size=400).json()["faces"] == []
    assert_error(post_image(client, data, max_faces=0), 422, "invalid_request")


def test_exif_orientation_is_applied(client: TestClient, astronaut: np.ndarray) -> None:
    # Stored turned a quarter anticlockwise, with EXIF orientation 6: "turn 90 degrees clockwise
    # to display". Sideways, the cascade finds no face; upright it does.
    stored = cv2.rotate(astronaut, cv2.ROTATE_90_COUNTERCLOCKWISE)[:, :400]
    image = Image.fromarray(cv2.cvtColor(stored, cv2.COLOR_BGR2RGB))
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    image.save(buf, "JPEG", exif=exif.tobytes(), quality=90)
    body = post_image(client, buf.getvalue()).json()
    assert body["image"] == {"width": 512, "height": 400}
    assert len(body["faces"]) == 1


@pytest.mark.parametrize("kind", ["gray", "rgba", "palette", "gray16", "bmp", "webp"])
def test_every_common_pixel_format_is_handled(
    client: TestClient, astronaut: np.ndarray, kind: str
) -> None:
    rgb = cv2.cvtColor(astronaut, cv2.COLOR_BGR2RGB)
    buf = io.BytesIO()
    if kind == "gray":
        Image.fromarray(rgb).convert("L").save(buf, "PNG")
    elif kind == "rgba":
        Image.fromarray(rgb).convert("RGBA").save(buf, "PNG")
    elif kind == "palette":
        Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE).save(buf, "PNG")
    elif kind == "gray16":
        gray = cv2.cvtColor(astronaut, cv2.COLOR_BGR2GRAY).astype(np.uint16) * 257
        buf.write(encode(gray, ".png"))
    elif kind == "bmp":
        Image.fromarray(rgb).save(buf, "BMP")
    else:
        Image.fromarray(rgb).save(buf, "WEBP", quality=90)
    r = post_image(client, buf.getvalue(), name=f"face.{kind}", mime="application/octet-stream")
    assert r.status_code == 200, r.text
    assert len(r.json()["faces"]) == 1


def test_unsupported_and_broken_uploads_get_clear_errors(
    client: TestClient, astronaut: np.ndarray, astronaut_jpeg: bytes
) -> None:
    assert_error(post_image(client, b""), 422, "empty_image")
    assert_error(post_image(client, b"hello, I am text"), 415, "unsupported_media_type")
    gif = io.BytesIO()
    Image.fromarray(astronaut[..., ::-1].copy()).save(gif, "GIF")
    body = assert_error(
        post_image(client, gif.getvalue(), mime="image/gif"), 415, "unsupported_media_type"
    )
    assert "GIF" in body["error"]["message"]
    truncated = post_image(client, astronaut_jpeg[: len(astronaut_jpeg) // 2])
    # The header survives; libjpeg fills the missing half grey or gives up: never a 5xx.
    assert truncated.status_code == 200 or truncated.json()["error"]["code"] == "undecodable_image"
    assert_error(client.post("/v1/predict"), 422, "invalid_request")
    assert_error(client.post("/v1/predict", content=b"raw", headers={"content-type": "image/jpeg"}),
                 422, "invalid_request")  # fmt: skip
    two = [("file", ("a.jpg", astronaut_jpeg, "image/jpeg")),
           ("file", ("b.jpg", astronaut_jpeg, "image/jpeg"))]  # fmt: skip
    body = assert_error(client.post("/v1/predict", files=two), 422, "invalid_request")
    assert body["error"]["message"] == "send one image per request in the file field; got 2"


def test_limits_refuse_big_uploads_and_pixel_bombs(astronaut_jpeg: bytes) -> None:
    with make_client(max_upload_bytes=150_000, max_pixels=1_000_000) as c:
        wait_until_ready(c)
        padded = astronaut_jpeg + b"\0" * (150_001 - len(astronaut_jpeg))
        body = assert_error(post_image(c, padded), 413, "payload_too_large")
        assert "the limit is 150000" in body["error"]["message"]
        bomb = png_header_only(50_000, 50_000)
        body = assert_error(
            post_image(c, bomb, name="bomb.png", mime="image/png"), 413, "too_many_pixels"
        )
        assert "50000x50000" in body["error"]["message"]
        # Far over the limit: refused from Content-Length before the body is parsed.
        r = post_image(c, b"\0" * 400_000)
        assert_error(r, 413, "payload_too_large")
        assert post_image(c, astronaut_jpeg).status_code == 200


def test_errors_never_use_another_shape(client: TestClient) -> None:
    r = client.get("/no/such/route")
    assert_error(r, 404, "not_found")
    r = client.get("/v1/predict")
    assert_error(r, 405, "method_not_allowed")
    assert json.loads(r.text).keys() == {"error"}


def test_hostile_images_get_documented_answers_and_the_server_keeps_working(
    client: TestClient, astronaut: np.ndarray, astronaut_jpeg: bytes
) -> None:
    rgb = cv2.cvtColor(astronaut, cv2.COLOR_BGR2RGB)
    tiny = io.BytesIO()
    Image.fromarray(np.zeros((1, 1), np.uint8)).save(tiny, "PNG")
    r = post_image(client, tiny.getvalue())
    assert r.status_code == 200 and r.json()["faces"] == []
    assert r.json()["image"] == {"width": 1, "height": 1}

    cmyk = io.BytesIO()
    Image.fromarray(rgb).convert("CMYK").save(cmyk, "JPEG", quality=90)
    r = post_image(client, cmyk.getvalue())
    assert r.status_code == 200 and len(r.json()["faces"]) == 1

    frames = [Image.fromarray(rgb), Image.fromarray(255 - rgb)]
    animated = io.BytesIO()
    frames[0].save(animated, "GIF", save_all=True, append_images=frames[1:])
    assert_error(post_image(client, animated.getvalue()), 415, "unsupported_media_type")

    # A wrong or missing part content type does not matter: the bytes decide.
    assert post_image(client, astronaut_jpeg, name="x.txt", mime="text/plain").status_code == 200
    many_parts = {f"extra{i}": (None, "x") for i in range(200)}
    r = client.post(
        "/v1/predict", files={**many_parts, "file": ("a.jpg", astronaut_jpeg, "image/jpeg")}
    )
    assert r.status_code in (200, 400, 413, 422), r.text
    assert set(r.json()) in ({"faces", "image", "model", "timings_ms"}, {"error"})
    assert post_image(client, astronaut_jpeg).status_code == 200


def test_the_haar_fallback_is_one_setting_away(astronaut_jpeg: bytes) -> None:
    with make_client(detector="haar") as c:
        wait_until_ready(c)
        assert c.get("/v1/model").json()["detector"] == "haar_frontalface_default"
        (face,) = post_image(c, astronaut_jpeg).json()["faces"]
    assert 150 <= face["box"]["x"] <= 200 and face["emotion"] == "happy"
