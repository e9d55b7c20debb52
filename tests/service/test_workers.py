"""The bounded worker pool: saturation is refused with 503 and Retry-After, not queued."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from service.api.errors import error_response
from service.errors import ServerBusy
from service.workers import WorkerPool


def test_a_saturated_pool_rejects_with_503_and_retry_after() -> None:
    async def scenario() -> None:
        pool = WorkerPool(threads=1, queue_size=0)
        release = threading.Event()
        blocked = asyncio.create_task(pool.run(release.wait, 5))
        await asyncio.sleep(0.05)
        with pytest.raises(ServerBusy) as rejected:
            await pool.run_or_reject(time.sleep, 0)
        answer = error_response(rejected.value)
        assert answer.status_code == 503 and answer.headers["Retry-After"] == "1"
        release.set()
        await blocked
        assert await pool.run_or_reject(sum, [1, 2]) == 3
        pool.shutdown()

    asyncio.run(scenario())
