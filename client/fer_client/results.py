"""Typed results: what the service (or the in-process pipeline) says about an image or a frame.

Fields the service may add later are ignored; ``track_id`` and ``raw_scores`` are present only
where the stream tracks faces (None otherwise).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Box(_Result):
    """A face box in image pixels, always inside the image (``img[y:y+h, x:x+w]`` is safe);
    ``truncated`` says the detector's box reached past an edge and was cut to the visible part."""

    x: int
    y: int
    w: int
    h: int
    truncated: bool = False


class Keypoint(_Result):
    """A face keypoint in image pixels."""

    x: float
    y: float


class Face(_Result):
    """One face: box, detector confidence, keypoints and roll (None for the Haar detector),
    top emotion and every emotion's probability.

    On a tracking stream ``track_id`` names the face across frames and ``scores`` may be
    smoothed over time, with the frame's own scores in ``raw_scores``.
    """

    box: Box
    detector_score: float
    emotion: str
    confidence: float
    scores: dict[str, float]
    keypoints: dict[str, Keypoint] | None = None
    roll: float | None = None
    track_id: int | None = None
    raw_scores: dict[str, float] | None = None


class ImageSize(_Result):
    """Pixel size of the decoded image."""

    width: int
    height: int


class ModelRef(_Result):
    """Which model answered."""

    name: str
    version: str


class Prediction(_Result):
    """Every face of one image, largest first (the answer of ``POST /v1/predict``)."""

    faces: list[Face]
    image: ImageSize
    model: ModelRef | None = None
    timings_ms: dict[str, float] = {}


class CropResult(_Result):
    """One already-cropped face (``classify``): which input it was, and its emotions."""

    index: int
    filename: str | None = None
    image: ImageSize
    emotion: str
    confidence: float
    scores: dict[str, float]


class Classification(_Result):
    """The emotions of every crop sent, in input order (the answer of ``POST /v1/classify``)."""

    crops: list[CropResult]
    model: ModelRef | None = None
    timings_ms: dict[str, float] = {}


class ErrorInfo(_Result):
    """The service's error shape: a stable ``code`` and a human-readable ``message``; on an
    unexpected failure, the ``request_id`` the service's log line carries."""

    code: str
    message: str
    request_id: str | None = None


class FrameStatus(StrEnum):
    """What became of one frame sent on a stream."""

    OK = "ok"  # answered with faces (possibly none)
    DROPPED = "dropped"  # replaced by a newer frame before the server got to it
    FAILED = "failed"  # answered with an error (``error`` says why)


class FrameResult(_Result):
    """One frame of a stream, in the order the frames were given.

    ``index`` is the frame's position in the input (0-based); ``seq`` the stream's sequence
    number of the message that was answered (None for a dropped frame). The counters are the
    server's totals for the stream when it answered.
    """

    index: int
    status: FrameStatus
    seq: int | None = None
    faces: list[Face] = []
    image: ImageSize | None = None
    timings_ms: dict[str, float] = {}
    error: ErrorInfo | None = None
    received: int | None = None
    processed: int | None = None
    failed: int | None = None
    dropped: int | None = None
