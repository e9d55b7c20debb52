"""Output files of the commands: a path, or ``-`` for stdout."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO


@contextmanager
def text_output(path: str | None) -> Iterator[IO[str] | None]:
    """The opened file (newline-neutral, for csv), stdout for ``-``, None for no path."""
    if path is None:
        yield None
    elif path == "-":
        yield sys.stdout
        sys.stdout.flush()
    else:
        with open(path, "w", newline="", encoding="utf-8") as stream:
            yield stream
