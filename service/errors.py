"""Domain errors: what went wrong, with a stable code, and no notion of HTTP.

Decoding, detection, the worker pool and the access checks raise these; the web layer maps each
kind to an HTTP status and a stream message in one place (``service.api.errors``).
"""

from __future__ import annotations


class ServiceError(Exception):
    """A problem the client should hear about: ``code`` is stable, ``message`` says what.

    ``index`` and ``filename`` name the part of a multi-image request the problem is about.
    """

    code = "service_error"
    index: int | None = None
    filename: str | None = None

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def for_part(self, index: int, filename: str | None) -> ServiceError:
        """The same kind of error, about part ``index`` (``filename``) of a request."""
        named = f" ({filename})" if filename else ""
        error = type(self)(f"file {index}{named}: {self.message}", self.code)
        error.index, error.filename = index, filename
        return error


class EmptyImage(ServiceError):
    """The upload or frame has no bytes."""

    code = "empty_image"


class ImageTooLarge(ServiceError):
    """Too many bytes (``payload_too_large``) or pixels (``too_many_pixels``)."""

    code = "payload_too_large"


class UnsupportedImage(ServiceError):
    """Not a JPEG, PNG, WebP, BMP or TIFF image."""

    code = "unsupported_media_type"


class UndecodableImage(ServiceError):
    """A supported format whose data does not decode (truncated, corrupt)."""

    code = "undecodable_image"


class MultiPageImage(ServiceError):
    """A TIFF with several pages: which one to analyse is the client's choice."""

    code = "multi_page_image"


class TooManyImages(ServiceError):
    """More images in one request than the service takes."""

    code = "too_many_images"


class DetectionFailed(ServiceError):
    """The face detector could not process this image (an input it cannot handle)."""

    code = "detection_failed"


class ServerBusy(ServiceError):
    """Every worker and queue place is taken; retry shortly."""

    code = "server_busy"


class NotReady(ServiceError):
    """The model is still warming up; retry shortly."""

    code = "not_ready"


class Unauthorized(ServiceError):
    """No valid API key."""

    code = "unauthorized"
