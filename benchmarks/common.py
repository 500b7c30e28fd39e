"""Shared by the benchmarks: time several contenders in the same process, interleaved."""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def interleaved_medians(contenders: dict[str, Callable[[], None]], reps: int) -> dict[str, float]:
    """Median seconds per call. Each repetition runs every contender once, alternating who goes first,
    so a slow spell of the machine hits all of them alike; repetition 0 warms up and is dropped."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for rep in range(reps + 1):
        for name in names if rep % 2 == 0 else names[::-1]:
            start = time.perf_counter()
            contenders[name]()
            if rep:
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}
