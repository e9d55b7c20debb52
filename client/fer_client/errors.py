"""Exceptions: one base class, one kind per thing that can go wrong."""

from __future__ import annotations


class FerError(Exception):
    """Base of every error the client raises; ``str()`` is a one-line explanation."""


class ServiceError(FerError):
    """The service answered with its error shape (or the in-process pipeline refused the image).

    ``message`` is the service's explanation, ``code`` its stable error code (e.g.
    ``unsupported_media_type``), ``status`` the HTTP status (None in-process): the service's own
    errors take ``message`` and ``code`` in the same order. ``index`` is the input a ``classify``
    call was refused for (None when the error is not about one input); ``request_id`` is the id
    of a 500's log line at the service (None otherwise), kept in the text so it can be reported.
    """

    def __init__(
        self,
        message: str,
        code: str,
        status: int | None = None,
        index: int | None = None,
        request_id: str | None = None,
    ) -> None:
        details = [code] + ([f"HTTP {status}"] if status else [])
        details += [f"request id {request_id}"] if request_id else []
        super().__init__(f"{message} ({', '.join(details)})")
        self.code = code
        self.message = message
        self.status = status
        self.index = index
        self.request_id = request_id


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
