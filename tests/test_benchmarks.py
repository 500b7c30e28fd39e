"""The benchmark scripts still run (tiny sizes; the real measurements are `make bench`)."""
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.mark.slow
@pytest.mark.parametrize("script", ["model_throughput.py", "pretrain_throughput.py"])
def test_benchmark_runs_and_prints_ratios(script):
    done = subprocess.run([sys.executable, str(BENCHMARKS / script), "--reps", "1", "--batch", "2", "--seq", "8"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "ratio:" in done.stdout and "tokens/s" in done.stdout
