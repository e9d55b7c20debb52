"""The Python client against the real service: typed results, many images, errors, retries,
and the in-process analyzer giving the same answers."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest

from devtools.photos import sample_photo
from fer_client import (
    Client,
    ConnectionFailed,
    FerError,
    InputError,
    LocalAnalyzer,
    Prediction,
    ServiceError,
    analyze,
)
from fer_client.client import retry_after
from fer_client.images import ImageInput
from fer_client.results import Box, Classification, CropResult, Face
from tests.helpers.client_service import API_KEY, needs_service_package
from tests.helpers.paths import ROOT


def test_predict_takes_a_path_bytes_or_an_array_and_returns_typed_faces(
    client: Client, tmp_path: Path
) -> None:
    astronaut = sample_photo("astronaut")
    path = tmp_path / "astronaut.png"
    cv2.imwrite(str(path), astronaut)
    by_path = client.predict(path)
    by_str = client.predict(str(path))
    by_bytes = client.predict(path.read_bytes())
    by_array = client.predict(astronaut)  # sent as JPEG
    assert by_path == by_str.model_copy(update={"timings_ms": by_path.timings_ms})
    assert by_path.faces == by_bytes.faces
    for prediction in (by_path, by_array):
        assert isinstance(prediction, Prediction)
        assert prediction.image.width == 512 and prediction.image.height == 512
        (face,) = prediction.faces
        assert face.emotion == "happy" and face.confidence > 0.5
        assert abs(sum(face.scores.values()) - 1) < 1e-3
        assert face.track_id is None and face.raw_scores is None
        assert 150 < face.box.x < 200 and 50 < face.box.y < 100 and not face.box.truncated
    assert by_path.model is not None and by_path.model.name == client.model_info()["name"]


def test_predict_many_keeps_input_order_and_returns_failures_in_place(client: Client) -> None:
    astronaut = sample_photo("astronaut")
    images: list[ImageInput] = [astronaut, b"GIF89a not!", sample_photo("coffee"), astronaut]
    answers = list(client.predict_many(images, concurrency=3, return_exceptions=True))
    assert [len(a.faces) if isinstance(a, Prediction) else None for a in answers] == [1, None, 0, 1]
    error = answers[1]
    assert isinstance(error, ServiceError) and error.status == 415
    assert error.code == "unsupported_media_type"
    with pytest.raises(ServiceError, match="unsupported_media_type"):
        list(client.predict_many(images, concurrency=2))


def test_errors_are_typed_one_line_and_name_the_cause(service_url: str, tmp_path: Path) -> None:
    with Client(service_url) as keyless, pytest.raises(ServiceError) as caught:
        keyless.predict(sample_photo("astronaut"))
    assert caught.value.status == 401 and caught.value.code == "unauthorized"
    assert "\n" not in str(caught.value)
    with Client("http://127.0.0.1:9", API_KEY) as nowhere, pytest.raises(ConnectionFailed):
        nowhere.predict(b"\xff\xd8\xff")
    with Client(service_url, API_KEY) as c:
        with pytest.raises(InputError, match="no-such.jpg"):
            c.predict(tmp_path / "no-such.jpg")
        with pytest.raises(InputError, match="uint8"):
            c.predict(np.zeros((10, 10), np.float32))


def test_busy_answers_are_retried_after_retry_after(client: Client) -> None:
    real = client.predict(sample_photo("astronaut")).model_dump_json()
    calls: list[float] = []

    def busy_twice(request: httpx.Request) -> httpx.Response:
        calls.append(0)
        if len(calls) <= 2:
            body = {"error": {"code": "server_busy", "message": "every worker is busy"}}
            return httpx.Response(503, json=body, headers={"Retry-After": "0"})
        return httpx.Response(200, content=real)

    with Client("http://fer.test", transport=httpx.MockTransport(busy_twice)) as c:
        assert len(c.predict(b"\xff\xd8\xff").faces) == 1
    assert len(calls) == 3
    calls.clear()
    with (
        Client("http://fer.test", retries=1, transport=httpx.MockTransport(busy_twice)) as c,
        pytest.raises(ServiceError) as caught,
    ):
        c.predict(b"\xff\xd8\xff")
    assert caught.value.status == 503 and caught.value.code == "server_busy" and len(calls) == 2
    assert retry_after(httpx.Response(503, headers={"Retry-After": "7"}), cap=5) == 5
    assert retry_after(httpx.Response(503), cap=5) == 1


@needs_service_package
def test_in_process_analyze_gives_the_services_answer(client: Client) -> None:
    photo = sample_photo("astronaut")
    remote = client.predict(photo)
    local = analyze(photo)
    assert local.faces == remote.faces and local.image == remote.image
    assert local.model == remote.model
    with pytest.raises(ServiceError) as caught:
        analyze(b"GIF89a not really")
    assert caught.value.code == "unsupported_media_type" and caught.value.status is None
    few = list(LocalAnalyzer(max_faces=1).predict_many([photo, b"x"], return_exceptions=True))
    assert isinstance(few[0], Prediction) and isinstance(few[1], FerError)


def test_result_types_cover_the_services_schemas() -> None:
    """A field the service adds to a face or box shows up here as a failing test."""
    schemas = json.loads((ROOT / "openapi" / "openapi.json").read_text())["components"]["schemas"]
    assert set(schemas["Face"]["properties"]) <= set(Face.model_fields)
    assert set(schemas["Box"]["properties"]) <= set(Box.model_fields)
    assert set(schemas["PredictResponse"]["properties"]) <= set(Prediction.model_fields)
    assert set(schemas["CropEmotion"]["properties"]) <= set(CropResult.model_fields)
    assert set(schemas["ClassifyResponse"]["properties"]) <= set(Classification.model_fields)


def test_a_service_500_keeps_its_request_id_in_the_error() -> None:
    import httpx

    from fer_client.client import error_of

    error_shape = {"code": "internal_error", "message": "an unexpected error", "request_id": "ab12"}
    body = {"error": error_shape}
    error = error_of(httpx.Response(500, json=body))
    assert (error.status, error.code, error.request_id) == (500, "internal_error", "ab12")
    assert "request id ab12" in str(error)
