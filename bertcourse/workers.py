"""Run independent jobs in a few processes, each with its share of the CPU cores.

Why: on a 2-core CPU, torch's two intra-op threads wait on each other at every small matrix product;
two single-thread processes side by side do about 12% more work than one process with two threads
(measured on the classroom builds: 1.72 and 1.76 s a pretraining step each, against 0.98 s for one
two-thread process). `classroom.prepare` builds two models at a time this way.

Each worker is a fresh interpreter ("spawn": no torch thread pool inherited mid-use), started with its
own `TQDM_POSITION`, so its progress bars get their own lines below the parent's total bar.
"""
from __future__ import annotations

import multiprocessing
import os
import pickle
import queue
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch

POLL_SECONDS = 2.0  # how often the parent checks that no worker died without a word (killed, out of memory)


def cpu_workers(device: torch.device | str | None = None) -> int:
    """How many jobs to run at once: 2 on a CPU with at least 2 cores, 1 on a GPU (one device to share)."""
    if str(device or ("cuda" if torch.cuda.is_available() else "cpu")).startswith("cuda"):
        return 1
    return min(2, torch.get_num_threads())


def _work(function: Callable, threads: int, jobs: Any, results: Any) -> None:
    """A worker's loop: take the next job (None: stop), run it, send back (index, result, error)."""
    torch.set_num_threads(threads)
    for index, args in iter(jobs.get, None):
        try:
            results.put((index, function(*args), None))
        except BaseException as error:  # noqa: BLE001 -- handed to the parent, which raises it
            try:
                pickle.loads(pickle.dumps(error))
            except Exception:  # noqa: BLE001 -- an error that cannot travel is sent as its text
                error = RuntimeError(f"{type(error).__name__}: {error}")
            results.put((index, None, error))
            return


def run_in_processes(function: Callable, jobs: Sequence[tuple], workers: int,
                     threads: int | None = None) -> Iterator[tuple[int, Any]]:
    """Yield (job index, function(*job)) as jobs finish, `workers` at a time, in the order given (put the
    longest first). A job's error is raised here and the other workers are stopped; so is a worker that
    died. `function` must be importable (a module-level function); `threads` defaults to a fair share."""
    if workers < 1:
        raise ValueError(f"workers={workers}: use 1 or more")
    threads = threads or max(1, torch.get_num_threads() // workers)
    context = multiprocessing.get_context("spawn")
    todo, results = context.Queue(), context.Queue()
    for index, args in enumerate(jobs):
        todo.put((index, args))
    processes = []
    for slot in range(1, min(workers, len(jobs)) + 1):
        todo.put(None)
        previous = os.environ.get("TQDM_POSITION")
        os.environ["TQDM_POSITION"] = str(slot)  # read by tqdm when the worker imports it
        try:
            process = context.Process(target=_work, args=(function, threads, todo, results), daemon=True)
            process.start()
        finally:
            if previous is None:
                del os.environ["TQDM_POSITION"]
            else:
                os.environ["TQDM_POSITION"] = previous
        processes.append(process)
    try:
        for _ in jobs:
            while True:
                try:
                    index, result, error = results.get(timeout=POLL_SECONDS)
                    break
                except queue.Empty:
                    dead = [p.exitcode for p in processes if p.exitcode not in (None, 0)]
                    if dead:
                        raise RuntimeError(f"a worker process died (exit code {dead[0]}) before finishing its "
                                           "job; run again with one worker to see the error") from None
                    if all(p.exitcode is not None for p in processes):
                        raise RuntimeError("the workers stopped before returning every result (a result that "
                                           "cannot be pickled?); run again with one worker") from None
            if error is not None:
                raise error
            yield index, result
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
            process.join()
