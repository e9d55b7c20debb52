"""The checked-in OpenAPI spec is the one the app generates, and it names every error."""

from __future__ import annotations

import json

from service.openapi_export import openapi_spec, render
from tests.helpers.paths import ROOT

SPEC = ROOT / "openapi" / "openapi.json"


def test_checked_in_spec_matches_the_app() -> None:
    assert SPEC.read_text() == render(openapi_spec()), "spec drifted: run `make openapi`"


def test_spec_documents_responses_and_errors() -> None:
    spec = json.loads(SPEC.read_text())
    predict = spec["paths"]["/v1/predict"]["post"]
    assert {"200", "413", "415", "422", "503"} <= set(predict["responses"])
    error_ref = predict["responses"]["415"]["content"]["application/json"]["schema"]["$ref"]
    assert error_ref.endswith("/ErrorResponse")
    assert {"PredictResponse", "Face", "ErrorResponse", "ModelInfo"} <= set(
        spec["components"]["schemas"]
    )
    assert {"/healthz", "/readyz", "/metrics", "/v1/model"} <= set(spec["paths"])
    assert (ROOT / "openapi" / "websocket.md").is_file()
