"""Python client for the FER service: images, folders, videos and webcams.

from fer_client import Client, analyze

with Client("http://127.0.0.1:8000") as client:
    prediction = client.predict("photo.jpg")          # Prediction: faces, boxes, emotions
prediction = analyze("photo.jpg")                      # the same, in-process (fer-service)
"""

from fer_client.client import Client
from fer_client.errors import (
    ConnectionFailed,
    FerError,
    InputError,
    ServiceError,
    ServiceNotInstalled,
    StreamClosed,
)
from fer_client.local import LocalAnalyzer, analyze
from fer_client.results import (
    Box,
    Classification,
    CropResult,
    ErrorInfo,
    Face,
    FrameResult,
    FrameStatus,
    ImageSize,
    Keypoint,
    ModelRef,
    Prediction,
)

__version__ = "0.1.0"

__all__ = [
    "Box",
    "Classification",
    "Client",
    "ConnectionFailed",
    "CropResult",
    "ErrorInfo",
    "Face",
    "FerError",
    "FrameResult",
    "FrameStatus",
    "ImageSize",
    "InputError",
    "Keypoint",
    "LocalAnalyzer",
    "ModelRef",
    "Prediction",
    "ServiceError",
    "ServiceNotInstalled",
    "StreamClosed",
    "analyze",
]
