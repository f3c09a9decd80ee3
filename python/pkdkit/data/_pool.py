"""Worker processes for the long data commands (synth, prepare)."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def _os_threads() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:  # not Linux: assume the worst
        return 2


def imap_processes(fn: Callable[[T], R], jobs: Iterable[T], workers: int) -> Iterator[R]:
    """``map(fn, jobs)`` in ``workers`` processes, results in job order, lazily.

    ``workers <= 1`` runs in this process. Children are forked when this process has a single OS
    thread (cheap, and works from any ``__main__``); otherwise they come from a fork server,
    because forking a process that holds other threads (torch's OpenMP pool) can deadlock.
    """
    if workers <= 1:
        yield from map(fn, jobs)
        return
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and _os_threads() == 1:
        context = multiprocessing.get_context("fork")
    else:
        context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        yield from pool.map(fn, jobs, chunksize=1)
