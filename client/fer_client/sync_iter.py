"""An async iterator consumed from synchronous code, one item at a time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import TypeVar

from fer_client.errors import FerError

T = TypeVar("T")


def iterate(results: AsyncIterator[T]) -> Iterator[T]:
    """Yield ``results`` as they come, driving them on a private event loop in this thread.

    Raises FerError when called inside a running event loop (there, use the async iterator
    itself). Leaving the loop early closes the async iterator, so its connection closes too.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise FerError("stream_sync cannot run inside an event loop; use `async for` on stream()")
    loop = asyncio.new_event_loop()
    try:
        while True:
            try:
                yield loop.run_until_complete(anext(results))
            except StopAsyncIteration:
                return
    finally:
        aclose = getattr(results, "aclose", None)
        if aclose is not None:
            loop.run_until_complete(aclose())
        loop.close()
