"""Write the app's OpenAPI spec: ``python -m service.openapi_export openapi/openapi.json``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from service.config import Settings
from service.main import create_app


def openapi_spec() -> dict[str, Any]:
    """The spec FastAPI generates for the app with default settings."""
    return create_app(Settings()).openapi()


def render(spec: dict[str, Any]) -> str:
    """Stable text: sorted keys, two-space indent, trailing newline."""
    return json.dumps(spec, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "openapi/openapi.json")
    target.write_text(render(openapi_spec()))
    print(f"wrote {target}")
