"""A bounded pool of threads for CPU-bound work, so the event loop never blocks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from service.errors import ServerBusy

T = TypeVar("T")


class WorkerPool:
    """``threads`` workers plus ``queue_size`` waiting jobs; beyond that REST callers get 503."""

    def __init__(self, threads: int, queue_size: int) -> None:
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="fer-worker")
        self.capacity = threads + queue_size
        self._slots = asyncio.Semaphore(self.capacity)

    async def run_or_reject(self, fn: Callable[..., T], *args: object) -> T:
        """Run now, or raise ServerBusy when saturated (for request/response callers)."""
        if self._slots.locked():
            raise ServerBusy("every worker is busy; retry shortly")
        return await self.run(fn, *args)

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """Wait for a place, then run ``fn(*args)`` on a worker thread."""
        async with self._slots:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, fn, *args)

    def shutdown(self) -> None:
        """Finish running jobs and stop the threads."""
        self._executor.shutdown(wait=True, cancel_futures=True)
