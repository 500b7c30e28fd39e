"""widgets.threads: each widget update runs on the cores other processes left free since the last one."""
import os

import torch

from bertcourse.widgets import threads
from bertcourse.widgets.threads import CpuSample, ThreadChooser, busy_seconds, free_cores, widget_threads

STAT = """cpu  900 0 300 5000 10 0 0 0 0 0
cpu0 400 0 100 2500 5 20 10 5 0 0
cpu1 500 0 200 2500 5 0 0 0 0 0
cpu2 7000 0 0 0 0 0 0 0 0 0
intr 12345 0 0
ctxt 999
btime 1700000000
procs_running 2
"""


def test_busy_seconds_counts_our_cpus_busy_ticks_only(tmp_path):
    stat = tmp_path / "stat"
    stat.write_text(STAT)
    tick = os.sysconf("SC_CLK_TCK")
    # user + nice + system + irq + softirq + steal of cpu0 and cpu1; idle, iowait and cpu2 left out
    assert busy_seconds({0, 1}, stat) == (400 + 100 + 20 + 10 + 5 + 500 + 200) / tick
    assert busy_seconds({2}, stat) == 7000 / tick
    assert busy_seconds({0}, tmp_path / "missing") is None


def test_free_cores_counts_out_our_own_work():
    before = CpuSample(wall=10.0, busy=100.0, own=5.0)
    assert free_cores(before, CpuSample(12.0, 101.0, 6.0), cpus=2) == 2.0        # only we worked: all free
    assert free_cores(before, CpuSample(12.0, 104.0, 5.0), cpus=2) == 0.0        # someone kept both busy
    assert free_cores(before, CpuSample(12.0, 103.0, 5.2), cpus=2) == 2 - 2.8 / 2


def fake_chooser(samples, cpus=2):
    feed = iter(samples)
    return ThreadChooser(take=lambda: next(feed), cpus=lambda: cpus)


def test_chooser_takes_the_free_cores_and_keeps_its_choice_over_a_short_look():
    chooser = fake_chooser([CpuSample(0.0, 0.0, 0.0),      # first look: nothing to compare, one thread
                            CpuSample(5.0, 0.5, 0.4),      # 5 s nearly idle: two free cores
                            CpuSample(5.1, 0.7, 0.4),      # 0.1 s later: too short to judge, choice stands
                            CpuSample(9.0, 8.0, 0.8),      # another process held both cores: one thread
                            CpuSample(15.0, 13.9, 1.0)])   # one core busy, one free: one thread for us
    assert [chooser.threads(most=4) for _ in range(5)] == [1, 2, 2, 1, 1]


def test_chooser_stays_within_one_and_torchs_setting():
    idle = [CpuSample(0.0, 0.0, 0.0), CpuSample(5.0, 0.0, 0.0)]
    chooser = fake_chooser(idle, cpus=8)
    assert [chooser.threads(most=3) for _ in idle] == [1, 3]                  # 8 free, torch set to 3
    assert ThreadChooser(take=lambda: None).threads(most=4) == 1               # no /proc/stat: one thread


def test_widget_threads_sets_the_choice_inside_and_restores_torch_after(monkeypatch):
    monkeypatch.setattr(threads, "CHOOSER", fake_chooser([CpuSample(0.0, 0.0, 0.0), CpuSample(5.0, 0.0, 0.0)]))
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with widget_threads() as n:
            assert n == 1 and torch.get_num_threads() == 1
        with widget_threads() as n:
            assert n == 2 and torch.get_num_threads() == 2
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
