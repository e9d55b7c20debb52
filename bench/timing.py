"""The benchmarks' one way to time a call: a median after a warm-up."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_ms(call: Callable[[], object], runs: int = 100, warmup: int = 5) -> float:
    """Median wall milliseconds of ``runs`` calls of ``call`` after ``warmup`` calls."""
    for _ in range(warmup):
        call()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)
