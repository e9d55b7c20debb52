"""The service's defaults as the domain classes take them, every one read from ``Settings``."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from service.config import Settings
from service.detectors.factory import dnn_options, haar_options
from service.engine import tracking_options
from service.tracking import TrackingOptions

SETTINGS = Settings()
DNN: dict[str, Any] = dnn_options(SETTINGS)  # an ONNX detector's threads, min_score, input_side
HAAR: dict[str, Any] = haar_options(SETTINGS)


def tracking(**overrides: int) -> TrackingOptions:
    """The settings' stream tracking options, with ``overrides``."""
    return replace(tracking_options(SETTINGS), **overrides)
