"""Jobs in worker processes: each runs in its own process with its share of the threads and its own progress
line; results come back as jobs finish; a failed job or a dead worker stops the rest with a clear error."""
import os

import pytest
import torch

from bertcourse.workers import cpu_workers, run_in_processes


def where_am_i(tag: str) -> tuple[str, int, int, str | None]:
    return tag, os.getpid(), torch.get_num_threads(), os.environ.get("TQDM_POSITION")


def fails_on(tag: str) -> str:
    if tag == "bad":
        raise ValueError(f"job {tag!r} has bad input")
    return tag


def dies(tag: str) -> None:
    os._exit(3)


def test_jobs_run_in_worker_processes_each_with_its_threads_and_progress_line():
    jobs = [("a",), ("b",), ("c",), ("d",)]
    results = dict(run_in_processes(where_am_i, jobs, workers=2, threads=1))
    assert sorted(results) == [0, 1, 2, 3]
    assert [results[i][0] for i in range(4)] == ["a", "b", "c", "d"]      # each index with its own job's result
    pids = {pid for _, pid, _, _ in results.values()}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2
    assert {threads for _, _, threads, _ in results.values()} == {1}
    assert {position for _, _, _, position in results.values()} <= {"1", "2"}
    assert "TQDM_POSITION" not in os.environ                                 # the parent's own bars unchanged


def test_a_failed_job_raises_its_own_error_in_the_parent():
    with pytest.raises(ValueError, match="'bad' has bad input"):
        list(run_in_processes(fails_on, [("ok",), ("bad",), ("ok",)], workers=1))


def test_a_worker_that_dies_is_reported_instead_of_waited_for():
    with pytest.raises(RuntimeError, match="died \\(exit code 3\\)"):
        list(run_in_processes(dies, [("x",)], workers=1))


def test_worker_count_and_its_checks():
    assert cpu_workers("cuda") == 1 and cpu_workers("cpu") == min(2, torch.get_num_threads())
    with pytest.raises(ValueError, match="workers=0"):
        list(run_in_processes(where_am_i, [("a",)], workers=0))


class Unpicklable(Exception):
    def __init__(self, code: int, why: str):  # two required arguments: unpickling calls Unpicklable(message)
        super().__init__(f"{why} ({code})")


def raises_unpicklable(tag: str) -> None:
    raise Unpicklable(7, "the input was odd")


def returns_unpicklable(tag: str):
    return lambda: tag


def test_an_error_that_cannot_be_pickled_arrives_as_its_text():
    with pytest.raises(RuntimeError, match="Unpicklable: the input was odd \\(7\\)"):
        list(run_in_processes(raises_unpicklable, [("x",)], workers=1))


def test_a_result_that_cannot_be_pickled_is_reported_instead_of_waited_for():
    with pytest.raises(RuntimeError, match="stopped before returning every result"):
        list(run_in_processes(returns_unpicklable, [("x",)], workers=1))
