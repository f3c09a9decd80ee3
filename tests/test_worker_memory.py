"""DataLoader workers keep the memory they free: a batch's big arrays reuse the last batch's pages."""

from __future__ import annotations

import ctypes.util
import resource

import pytest
from torch.utils.data import DataLoader, Dataset

from pkdkit.data._memory import keep_freed_memory_in_workers

SIZE = 48 * 2**20  # bytes: far above glibc's mmap threshold (at most 32 MiB)


def _faults_of_a_second_big_block() -> int:
    """Minor page faults taken writing a fresh SIZE-byte malloc block after one of the same size
    was freed (C malloc, as the Rust core's arrays come from; no huge pages asked for)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, (ctypes.c_size_t,)
    libc.free.argtypes = (ctypes.c_void_p,)
    first = libc.malloc(SIZE)
    ctypes.memset(first, 1, SIZE)
    libc.free(first)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    second = libc.malloc(SIZE)
    ctypes.memset(second, 1, SIZE)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    libc.free(second)
    return faults


class _Probe(Dataset):
    def __len__(self) -> int:
        return 1

    def __getitem__(self, index: int) -> int:
        keep_freed_memory_in_workers()  # what FusedDataset.__getitems__ does first
        return _faults_of_a_second_big_block()


@pytest.mark.skipif(
    not hasattr(ctypes.CDLL(ctypes.util.find_library("c")), "mallopt"),
    reason="mallopt is glibc's; other C libraries keep their own policy",
)
def test_workers_reuse_freed_pages_and_the_main_process_is_left_alone() -> None:
    pages = SIZE // 4096
    keep_freed_memory_in_workers()  # not a worker: no change here
    assert _faults_of_a_second_big_block() > pages // 2  # a fresh mmap, faulted page by page
    (in_worker,) = DataLoader(_Probe(), batch_size=None, num_workers=1, multiprocessing_context="fork")
    assert int(in_worker) < pages // 20  # the freed heap pages, already mapped
