"""Uploads as users send them: TIFF photos (8- and 16-bit, gray and colour, one page), parts
without a usable filename, and what an unexpected failure answers."""

from __future__ import annotations

import io
import logging

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from service.config import Settings
from service.main import create_app
from tests.helpers.app import encode, post_image, wait_until_ready
from tests.helpers.uploads import MULTIPART_TYPE, multipart_body, tiff_header_only, tiff_pages


def tiff_variants(bgr: np.ndarray) -> dict[str, bytes]:
    rgb, gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    return {
        "gray 8-bit": tiff_pages([gray]),
        "gray 16-bit": tiff_pages([gray.astype(np.uint16) * 257]),
        "colour 8-bit": tiff_pages([rgb]),
        "colour 16-bit (OpenCV)": encode(bgr.astype(np.uint16) * 257, ".tiff"),
        "colour 8-bit LZW (OpenCV)": encode(bgr, ".tiff"),
    }


def test_tiff_photos_get_the_same_faces_as_png(client: TestClient, astronaut: np.ndarray) -> None:
    gray = cv2.cvtColor(astronaut, cv2.COLOR_BGR2GRAY)
    reference = post_image(client, encode(gray, ".png"), "a.png", "image/png").json()["faces"]
    assert len(reference) == 1
    for kind, data in tiff_variants(astronaut).items():
        response = post_image(client, data, "a.tif", "image/tiff")
        assert response.status_code == 200, (kind, response.text)
        faces = response.json()["faces"]
        assert len(faces) == 1, kind
        assert faces[0]["emotion"] == reference[0]["emotion"], kind
        for axis in "xywh":
            assert abs(faces[0]["box"][axis] - reference[0]["box"][axis]) <= 3, kind
        for label, p in reference[0]["scores"].items():
            assert faces[0]["scores"][label] == pytest.approx(p, abs=0.05), (kind, label)


def test_multi_page_tiff_is_refused_saying_how_many_pages(client: TestClient) -> None:
    page = np.full((64, 64), 100, np.uint8)
    response = post_image(client, tiff_pages([page, page, page]), "scan.tif", "image/tiff")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "multi_page_image" and "3 pages" in error["message"]


def test_tiff_pixel_limit_is_checked_on_the_header_before_decoding(client: TestClient) -> None:
    response = post_image(client, tiff_header_only(50_000, 50_000), "big.tif", "image/tiff")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_many_pixels"
    truncated = post_image(client, tiff_header_only(400, 400), "cut.tif", "image/tiff")
    assert truncated.status_code == 422
    assert truncated.json()["error"]["code"] == "undecodable_image"


@pytest.mark.parametrize("path", ["/v1/predict", "/v1/classify"])
@pytest.mark.parametrize(
    "disposition",
    ['form-data; name="file"', "form-data; name=\"file\"; filename*=UTF-8''f%C3%A4ce.jpg"],
    ids=["no filename", "RFC 2231 filename* only"],
)
def test_a_file_part_without_a_usable_filename_gets_a_422_saying_what_to_send(
    client: TestClient, astronaut_jpeg: bytes, path: str, disposition: str
) -> None:
    body = multipart_body(disposition, astronaut_jpeg)
    response = client.post(path, content=body, headers={"Content-Type": MULTIPART_TYPE})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert "must be a file upload with a filename" in error["message"]
    assert 'filename="' in error["message"] and "UploadFile" not in error["message"]
    good = multipart_body('form-data; name="file"; filename="face.jpg"', astronaut_jpeg)
    assert client.post(path, content=good, headers={"Content-Type": MULTIPART_TYPE}).is_success


def test_an_unexpected_exception_answers_json_500_with_the_request_id_of_its_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = create_app(Settings())

    @app.get("/v1/injected-failure")
    async def fail() -> None:
        raise RuntimeError("injected failure")

    with TestClient(app) as client, caplog.at_level(logging.ERROR, logger="service"):
        wait_until_ready(client)
        response = client.get("/v1/injected-failure")
        assert response.status_code == 500
        error = response.json()["error"]
        assert error["code"] == "internal_error"
        request_id = error["request_id"]
        assert len(request_id) == 32 and response.headers["X-Request-ID"] == request_id
        assert "injected failure" not in response.text  # no internals to the client
        logged = [r for r in caplog.records if request_id in r.getMessage()]
        assert len(logged) == 1 and logged[0].exc_info is not None
        assert "injected failure" in str(logged[0].exc_info[1])
        assert client.get("/healthz").status_code == 200  # the app goes on
        metrics = client.get("/metrics").text
        assert 'fer_http_requests_total{route="/v1/injected-failure",status="500"} 1.0' in metrics


def long_thin_images() -> dict[str, tuple[bytes, str]]:
    """Images under the pixel limit with a side OpenCV's decoders refuse (over 2**20 pixels)."""
    out = {}
    for name, size, fmt, mime in (
        ("wide TIFF", (10_000_000, 2), "TIFF", "image/tiff"),
        ("tall TIFF", (2, 10_000_000), "TIFF", "image/tiff"),
        ("wide BMP", (2_000_000, 2), "BMP", "image/bmp"),
    ):
        buffer = io.BytesIO()
        extra = {"compression": "tiff_deflate"} if fmt == "TIFF" else {}
        Image.new("L", size, 128).save(buffer, fmt, **extra)
        out[name] = (buffer.getvalue(), mime)
    return out


def test_a_side_the_decoder_refuses_is_a_413_from_the_header_on_every_route(
    client: TestClient, astronaut_jpeg: bytes
) -> None:
    for kind, (data, mime) in long_thin_images().items():
        for route in ("/v1/predict", "/v1/classify"):
            response = client.post(route, files={"file": ("long.img", data, mime)})
            assert response.status_code == 413, (kind, route, response.text)
            error = response.json()["error"]
            assert error["code"] == "too_many_pixels" and "no side may exceed" in error["message"]
        with client.websocket_connect("/v1/stream") as ws:
            ws.send_bytes(data)
            failed = ws.receive_json()
            ws.send_bytes(astronaut_jpeg)
            answered = ws.receive_json()
        assert failed["type"] == "error" and failed["error"]["code"] == "too_many_pixels", kind
        assert answered["type"] == "result" and len(answered["faces"]) == 1, kind
        assert (answered["received"], answered["processed"], answered["failed"]) == (2, 1, 1)


def test_an_unexpected_exception_in_a_stream_fails_that_frame_only(
    astronaut_jpeg: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(Settings())
    with TestClient(app) as client, caplog.at_level(logging.ERROR, logger="service"):
        wait_until_ready(client)
        analyzer = app.state.fer.analyzer
        real_frame = analyzer.frame
        calls = 0

        async def fails_once(*args: object) -> object:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise RuntimeError("injected failure")
            return await real_frame(*args)

        analyzer.frame = fails_once
        with client.websocket_connect("/v1/stream") as ws:
            ws.send_bytes(astronaut_jpeg)
            failed = ws.receive_json()
            ws.send_bytes(astronaut_jpeg)
            answered = ws.receive_json()
    error = failed["error"]
    assert failed["type"] == "error" and error["code"] == "internal_error"
    assert set(error) == {"code", "message", "request_id"}  # no empty fields
    assert "injected failure" not in error["message"]
    assert answered["type"] == "result" and answered["failed"] == 1 and answered["processed"] == 1
    logged = [r for r in caplog.records if error["request_id"] in r.getMessage()]
    assert logged and logged[0].exc_info is not None  # the traceback is in the log line


def test_a_classify_part_without_a_filename_is_named_by_its_index(
    client: TestClient, astronaut_jpeg: bytes
) -> None:
    from tests.helpers.uploads import BOUNDARY

    def part(disposition: str) -> bytes:
        head = f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n"
        return (head + "Content-Type: image/jpeg\r\n\r\n").encode() + astronaut_jpeg + b"\r\n"

    body = (
        part('form-data; name="file"; filename="a.jpg"')
        + part('form-data; name="file"')  # the second part: no filename
        + f"--{BOUNDARY}--\r\n".encode()
    )
    response = client.post("/v1/classify", content=body, headers={"Content-Type": MULTIPART_TYPE})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["index"] == 1 and "must be a file upload with a filename" in error["message"]
