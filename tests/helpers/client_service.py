"""What the client tests' service and media are: the API key it wants, the clip's length, and
whether the service package is importable here (the client-only venv of ``make client-test``
has only the client)."""

import importlib

import pytest

API_KEY = "client-tests-key"
CLIP_FRAMES = 45  # 1.5 s at 30 fps


def _service_importable() -> bool:
    try:
        importlib.import_module("service.engine")
    except ImportError:
        return False
    return True


needs_service_package = pytest.mark.skipif(
    not _service_importable(),
    reason="in-process analysis needs the service package (absent: the client is tested alone)",
)
