"""Worker processes for the long data commands (synth, prepare)."""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")
R = TypeVar("R")

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
WATCH_SECONDS = 1.0  # how often a worker checks that the process that started it is alive


def _os_threads() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:  # not Linux: assume the worst
        return 2


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _watch_parent(owner: int, parent: int) -> None:
    """End this worker once its parent changes (it died: the worker was re-parented) or the
    pool's owner is gone."""
    while True:
        time.sleep(WATCH_SECONDS)
        if os.getppid() != parent or not _alive(owner):
            os._exit(1)


def die_with_parent(owner: int) -> None:
    """Worker start-up: exit when the process that owns the pool dies, even by ``kill -9``.

    On Linux the kernel sends SIGKILL when the worker's parent exits (``PR_SET_PDEATHSIG``);
    everywhere a daemon thread also checks the parent every second, which covers a fork
    server's workers (whose parent is the server, not ``owner``) and systems without prctl.
    """
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass  # the watcher below still works
    parent = os.getppid()
    if not _alive(owner):  # died before the signal was armed
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(owner, parent), name="pkdkit-parent-watch", daemon=True).start()


def imap_processes(fn: Callable[[T], R], jobs: Iterable[T], workers: int) -> Iterator[R]:
    """``map(fn, jobs)`` in ``workers`` processes, results in job order, lazily.

    ``workers <= 1`` runs in this process. Children are forked when this process has a single OS
    thread (cheap, and works from any ``__main__``); otherwise they come from a fork server,
    because forking a process that holds other threads (torch's OpenMP pool) can deadlock.
    Workers exit when this process dies (see :func:`die_with_parent`), so a killed run leaves
    no orphans encoding on.
    """
    if workers <= 1:
        yield from map(fn, jobs)
        return
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and _os_threads() == 1:
        context = multiprocessing.get_context("fork")
    else:
        context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=die_with_parent, initargs=(os.getpid(),)) as pool:
        yield from pool.map(fn, jobs, chunksize=1)
