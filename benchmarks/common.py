"""Shared by the benchmarks: time several contenders in the same process, interleaved."""
from __future__ import annotations

import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path


def interleaved_times(contenders: dict[str, Callable[[], float | None]], reps: int) -> dict[str, list[float]]:
    """Seconds of each call, per contender. Each repetition runs every contender once, alternating who
    goes first, so a slow spell of the machine hits all of them alike; repetition 0 warms up and is dropped.
    A contender that returns a number reports its own seconds (e.g. until the first thing it drew)."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for rep in range(reps + 1):
        for name in names if rep % 2 == 0 else names[::-1]:
            start = time.perf_counter()
            reported = contenders[name]()
            if rep:
                times[name].append(time.perf_counter() - start if reported is None else reported)
    return times


def interleaved_medians(contenders: dict[str, Callable[[], None]], reps: int) -> dict[str, float]:
    """Median seconds per call of each contender (see interleaved_times)."""
    return {name: statistics.median(t) for name, t in interleaved_times(contenders, reps).items()}


def cpu_model() -> str:
    """The CPU's name as the kernel reports it (speed ratios differ between CPU makers)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return platform.processor() or platform.machine()


def report(name: str, times: dict[str, list[float]], tokens: int, flops: float | None = None) -> dict:
    """Print tokens/s (and GFLOP/s when the work is known) of each contender at its median time, then
    transformers' time / ours within each repetition: min, median and max of those ratios (a ratio
    compares two runs of the same moment, so it is steadier than the times on a busy machine)."""
    result: dict = {}
    for who, seconds in times.items():
        median = statistics.median(seconds)
        gflops = f"  {flops / median / 1e9:6.1f} GFLOP/s" if flops else ""
        print(f"{name:>10} {who:>12}: {tokens / median:9.0f} tokens/s{gflops}")
        result[f"{who}_tokens_per_s"] = tokens / median
    ratios = sorted(theirs / ours for ours, theirs in zip(times["bertcourse"], times["transformers"]))
    result["ratio"] = {"min": ratios[0], "median": statistics.median(ratios), "max": ratios[-1]}
    print(f"{name:>10}        ratio: {result['ratio']['median']:.3f}  (bertcourse / transformers speed, "
          f"median of {len(ratios)}; min {ratios[0]:.3f}, max {ratios[-1]:.3f})")
    return result


def _split_at(path: Path, begin: str, end: str) -> tuple[str, str, str]:
    """(before begin, between the markers, after end) of a README holding each marker line once."""
    text = path.read_text()
    if text.count(begin) != 1 or text.count(end) != 1:
        raise ValueError(f"{path} must hold {begin} and {end} once each")
    head, rest = text.split(begin)
    body, tail = rest.split(end)
    return head, body.strip("\n"), tail


def read_between(path: Path, begin: str, end: str) -> str:
    """The generated block of a README (tests compare it with the table its JSON renders)."""
    return _split_at(path, begin, end)[1]


def write_between(path: Path, begin: str, end: str, body: str) -> None:
    """Replace what lies between the marker lines begin and end of a README with body (the generated tables)."""
    head, _, tail = _split_at(path, begin, end)
    path.write_text(f"{head}{begin}\n{body}\n{end}{tail}")
