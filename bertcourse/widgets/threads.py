"""How many torch threads a widget update runs on: the cores that other processes left free.

On an idle machine every core shortens an update (the matrix products split across them). Beside a busy
process (a second kernel training, as happens in class) torch's threads wait on each other at every barrier
while the other process holds a core, and one thread is several times faster than two. So each update
looks at how busy this process's CPUs were since the last update, counting out this process's own work,
and takes the cores that stayed free: at least one, at most torch's setting.
benchmarks/widget_latency.py measures the updates idle and beside a busy process.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import torch

MIN_INTERVAL = 0.2  # seconds: a shorter look sees a few clock ticks only, so the last choice stands


class CpuSample(NamedTuple):
    wall: float   # seconds, monotonic
    busy: float   # CPU seconds all processes spent on our CPUs since boot
    own: float    # CPU seconds this process spent (all its threads)


def busy_seconds(cpus: set[int], stat: Path = Path("/proc/stat")) -> float | None:
    """CPU seconds spent on `cpus` since boot, from Linux's /proc/stat (None where it cannot be read)."""
    try:
        lines = stat.read_text().splitlines()
    except OSError:
        return None
    ticks = 0
    for line in lines:
        name, *fields = line.split()
        if name[3:].isdigit() and name.startswith("cpu") and int(name[3:]) in cpus:
            user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
            ticks += user + nice + system + irq + softirq + steal
    return ticks / os.sysconf("SC_CLK_TCK")


def our_cpus() -> set[int]:
    """The CPUs this process may run on."""
    return os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set(range(os.cpu_count() or 1))


def sample() -> CpuSample | None:
    """Now: the wall clock, our CPUs' busy seconds and this process's (None without /proc/stat)."""
    busy = busy_seconds(our_cpus())
    return None if busy is None else CpuSample(time.monotonic(), busy, time.process_time())


def free_cores(before: CpuSample, now: CpuSample, cpus: int) -> float:
    """Cores that other processes left idle between two samples."""
    others = (now.busy - before.busy) - (now.own - before.own)          # CPU seconds of everyone else
    return cpus - max(0.0, others) / (now.wall - before.wall)


class ThreadChooser:
    """Remembers the last sample, so each update judges the time since the one before."""

    def __init__(self, take: Callable[[], CpuSample | None] = sample,
                 cpus: Callable[[], int] = lambda: len(our_cpus())):
        self.take, self.cpus = take, cpus
        self.last: CpuSample | None = None
        self.choice = 1

    def threads(self, most: int) -> int:
        """Torch threads for the next update: the free cores, rounded, between 1 and `most`."""
        now = self.take()
        if now is None:                                   # no /proc/stat: one thread is the safe choice
            return 1
        if self.last is None:
            self.last = now
        elif now.wall - self.last.wall >= MIN_INTERVAL:
            self.choice = round(free_cores(self.last, now, self.cpus()))
            self.last = now
        return max(1, min(most, self.choice))


CHOOSER = ThreadChooser()


@contextmanager
def widget_threads() -> Iterator[int]:
    """Run a widget update on the cores other processes left free (see the module's docstring), then
    restore torch's setting."""
    before = torch.get_num_threads()
    threads = CHOOSER.threads(before)
    torch.set_num_threads(threads)
    try:
        yield threads
    finally:
        torch.set_num_threads(before)
