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


def report(name: str, seconds: dict[str, float], tokens: int, reps: int, flops: float | None = None) -> None:
    """tokens/s (and GFLOP/s when the work is known) of each contender, then ours / theirs."""
    for who, s in seconds.items():
        gflops = f"  {flops / s / 1e9:6.1f} GFLOP/s" if flops else ""
        print(f"{name:>10} {who:>12}: {tokens / s:9.0f} tokens/s{gflops}")
    print(f"{name:>10}        ratio: {seconds['transformers'] / seconds['bertcourse']:.3f}  "
          f"(bertcourse / transformers, median of {reps})")
