"""Run a function over many items on a few threads, yielding results in input order, with a
bounded number of items in flight (a folder of a million photos is never all submitted)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from fer_client.errors import FerError

T = TypeVar("T")
R = TypeVar("R")


def ordered_map(
    fn: Callable[[T], R], items: Iterable[T], workers: int, ahead: int | None = None
) -> Iterator[Future[R]]:
    """Futures of ``fn(item)``, done, in the order of ``items``; at most ``ahead`` (default
    ``2 * workers``) are submitted ahead of the one being yielded. ``future.result()`` returns
    the value or raises what ``fn`` raised."""
    if workers < 1:
        raise ValueError(f"workers must be at least 1; got {workers}")
    limit = ahead or 2 * workers
    with ThreadPoolExecutor(workers, thread_name_prefix="fer-client") as pool:
        pending: deque[Future[R]] = deque()
        try:
            for item in items:
                pending.append(pool.submit(fn, item))
                if len(pending) >= limit:
                    yield _wait(pending.popleft())
            while pending:
                yield _wait(pending.popleft())
        finally:
            for future in pending:  # the caller stopped early: do not run what was not started
                future.cancel()


def _wait(future: Future[R]) -> Future[R]:
    future.exception()  # blocks until done; never raises the function's own error
    return future


def map_in_order(
    fn: Callable[[T], R], items: Iterable[T], workers: int, return_exceptions: bool
) -> Iterator[R | FerError]:
    """``fn(item)`` for every item, in order, ``workers`` at a time. A FerError is yielded in
    its item's place with ``return_exceptions``, else raised; other exceptions are raised."""
    for future in ordered_map(fn, items, workers):
        error = future.exception()
        if error is None:
            yield future.result()
        elif return_exceptions and isinstance(error, FerError):
            yield error
        else:
            raise error
