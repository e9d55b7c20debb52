"""The detector the settings name, built with the settings' options (their only defaults)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from service.detectors.base import FaceDetector
from service.detectors.blazeface import BlazeFaceDetector
from service.detectors.haar import HaarDetector
from service.detectors.onnx import OnnxDetector
from service.detectors.rotations import RotationSearch
from service.detectors.yunet import YuNetDetector

if TYPE_CHECKING:
    from service.config import Settings

DNN_DETECTORS: dict[str, Callable[..., OnnxDetector]] = {
    "blazeface": BlazeFaceDetector,
    "yunet": YuNetDetector,
}


def dnn_options(settings: Settings) -> dict[str, Any]:
    """The keyword arguments of an ONNX detector (BlazeFace, YuNet) under ``settings``."""
    return {
        "threads": settings.ort_threads,
        "min_score": settings.detector_min_score,
        "input_side": settings.detector_input_side,
        "work_pixels": settings.detector_work_pixels,
    }


def haar_options(settings: Settings) -> dict[str, Any]:
    """The keyword arguments of the Haar detector under ``settings``."""
    return {
        "max_side": settings.detector_max_side,
        "scale_factor": settings.detector_scale_factor,
        "min_neighbors": settings.detector_min_neighbors,
    }


def build_detector(settings: Settings) -> FaceDetector:
    """The detector ``settings.detector`` names (a DNN one searching turned faces unless
    ``settings.rotation_search`` is off); ModelLoadError when its file cannot be used."""
    if settings.detector in DNN_DETECTORS:
        dnn = DNN_DETECTORS[settings.detector](settings.detector_file(), **dnn_options(settings))
        return RotationSearch(dnn) if settings.rotation_search else dnn
    return HaarDetector(**haar_options(settings))
