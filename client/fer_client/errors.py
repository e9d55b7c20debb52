"""Exceptions: one base class, one kind per thing that can go wrong."""

from __future__ import annotations


class FerError(Exception):
    """Base of every error the client raises; ``str()`` is a one-line explanation."""


class ServiceError(FerError):
    """The service answered with its error shape (or the in-process pipeline refused the image).

    ``message`` is the service's explanation, ``code`` its stable error code (e.g.
    ``unsupported_media_type``), ``status`` the HTTP status (None in-process): the service's own
    errors take ``message`` and ``code`` in the same order. ``index`` is the input a ``classify``
    call was refused for (None when the error is not about one input).
    """

    def __init__(
        self, message: str, code: str, status: int | None = None, index: int | None = None
    ) -> None:
        super().__init__(f"{message} ({code}" + (f", HTTP {status})" if status else ")"))
        self.code = code
        self.message = message
        self.status = status
        self.index = index


class ConnectionFailed(FerError):
    """The service could not be reached, or did not answer in time."""


class StreamClosed(FerError):
    """The service closed the WebSocket stream: ``code`` is the close code, ``reason`` why."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"the stream was closed ({code}): {reason or 'no reason given'}")
        self.code = code
        self.reason = reason


class InputError(FerError):
    """An input the client cannot use: a missing file, an unsupported array, an unreadable video."""


class ServiceNotInstalled(FerError):
    """In-process analysis needs the service package (``fer-service``), which is not installed."""
