"""Pydantic models of every response and error; they define the OpenAPI spec."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Box(BaseModel):
    """A face box in original image pixels (after EXIF orientation), always inside the image:
    0 <= x, 0 <= y, x + w <= image width, y + h <= image height, so ``img[y:y+h, x:x+w]`` is
    the face's visible part."""

    x: int = Field(ge=0, description="left edge, pixels from the image's left")
    y: int = Field(ge=0, description="top edge, pixels from the image's top")
    w: int = Field(ge=1, description="width in pixels")
    h: int = Field(ge=1, description="height in pixels")
    truncated: bool = Field(
        description="true when the detector's box reached past an image edge and was cut to "
        "the visible part shown here (the face may be partly outside the image); the emotion "
        "is computed from the whole box, edges replicated"
    )


class Keypoint(BaseModel):
    """A face keypoint in original image pixels (after EXIF orientation); it may lie outside
    the image for a face cut by an edge."""

    x: float
    y: float


class Face(BaseModel):
    """One face: where it is, how sure the detector is, and its emotions."""

    box: Box
    detector_score: float = Field(ge=0, le=1)
    keypoints: dict[str, Keypoint] | None = Field(
        description="the detector's keypoints by name, as the subject sees them (right_eye is "
        "the subject's right eye, on the image's left in an upright face): BlazeFace gives "
        "right_eye, left_eye, nose_tip, mouth, right_ear, left_ear; YuNet right_eye, left_eye, "
        "nose_tip, mouth_right, mouth_left; null for the Haar detector"
    )
    roll: float | None = Field(
        ge=-180,
        le=180,
        description="degrees the face is turned clockwise in the picture, (-180, 180], from "
        "its eyes (and mouth or nose, to tell up from down); the crop is turned upright by it "
        "before classifying; null without keypoints",
    )
    emotion: str = Field(description="the most likely emotion")
    confidence: float = Field(ge=0, le=1, description="probability of `emotion`")
    scores: dict[str, float] = Field(description="probability of every emotion; sums to 1")


class StreamFace(Face):
    """A face on a stream frame: followed as a track, its emotion smoothed over time."""

    track_id: int = Field(
        ge=1, description="stable while the face stays in view; never reused within the stream"
    )
    scores: dict[str, float] = Field(
        description="probability of every emotion, smoothed over the track (half_life_ms)"
    )
    raw_scores: dict[str, float] = Field(description="this frame's own, unsmoothed scores")


class ImageSize(BaseModel):
    """Size of the decoded image."""

    width: int
    height: int


class ModelRef(BaseModel):
    """Which model answered."""

    name: str
    version: str


class PredictResponse(BaseModel):
    """Every face found in one image, largest first."""

    faces: list[Face]
    image: ImageSize
    model: ModelRef
    timings_ms: dict[str, float] = Field(description="decode, detect, classify, total")


class CropEmotion(BaseModel):
    """One already-cropped face: its emotions, and which upload it was."""

    index: int = Field(ge=0, description="the part's position among the request's file parts")
    filename: str | None = Field(description="the part's filename, as sent")
    image: ImageSize = Field(description="the decoded crop's size, before resizing")
    emotion: str = Field(description="the most likely emotion")
    confidence: float = Field(ge=0, le=1, description="probability of `emotion`")
    scores: dict[str, float] = Field(description="probability of every emotion; sums to 1")


class ClassifyResponse(BaseModel):
    """The emotions of every uploaded crop, in the order the parts were sent."""

    crops: list[CropEmotion]
    model: ModelRef
    timings_ms: dict[str, float] = Field(description="decode, classify, total (all crops)")


class StreamResult(BaseModel):
    """What the server sends for each processed stream frame."""

    type: str = "result"
    seq: int = Field(description="the client's sequence number, or the server's frame counter")
    faces: list[StreamFace]
    image: ImageSize
    timings_ms: dict[str, float]
    detector_ran: bool = Field(
        description="the full-frame detector ran on this frame (otherwise known faces were "
        "followed by optical flow)"
    )
    received: int = Field(description="frames received on this stream so far")
    processed: int = Field(description="frames processed on this stream so far")
    failed: int = Field(description="frames answered with an error message so far")
    dropped: int = Field(description="frames skipped because a newer one arrived first")


class ErrorDetail(BaseModel):
    """A stable machine-readable code and a human-readable message; which part of a
    multi-image request it is about, and a request id to find an unexpected error in the log."""

    code: str
    message: str
    index: int | None = Field(
        default=None, description="the file part the error is about (POST /v1/classify)"
    )
    filename: str | None = Field(default=None, description="that part's filename")
    request_id: str | None = Field(
        default=None, description="on 500 errors: the id the service's log line carries"
    )


class ErrorResponse(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


class StreamError(BaseModel):
    """Sent on the stream for a frame that could not be processed; the stream stays open."""

    type: str = "error"
    seq: int
    error: ErrorDetail
    failed: int
    dropped: int


class Status(BaseModel):
    """Liveness or readiness."""

    status: str


class CropInfo(BaseModel):
    """The face crop the model expects."""

    size: int
    channels: int
    margin: float


class ModelInfo(BaseModel):
    """The loaded model and the detector in front of it."""

    name: str
    version: str
    labels: list[str]
    crop: CropInfo
    detector: str = Field(description="the face detector in front of the model")
    align_faces: bool = Field(description="faces are rotated to level eyes before classifying")
    metadata: dict[str, Any] = Field(description="everything else the model file declares")


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the given error statuses."""
    return {status: {"model": ErrorResponse} for status in statuses}
