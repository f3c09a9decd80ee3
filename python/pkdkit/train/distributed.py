"""One process per device with torch.distributed (torchrun), gloo on CPU, NCCL on CUDA."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.utils.data import Sampler

from ..devices import resolve_device

__all__ = ["DistInfo", "init_distributed", "dist_info", "ShardSampler", "all_reduce_sum", "resolve_device"]


@dataclass(frozen=True)
class DistInfo:
    """Rank and world size of this process (0 and 1 without torch.distributed)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Whether this process writes files and shows progress."""
        return self.rank == 0


def dist_info() -> DistInfo:
    """The current process group's rank and size, or a single-process default."""
    if dist.is_available() and dist.is_initialized():
        return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)))
    return DistInfo()


def init_distributed(device: torch.device) -> DistInfo:
    """Joins the process group torchrun describes (``WORLD_SIZE`` > 1); no-op otherwise.

    NCCL on CUDA (one GPU per local rank), gloo on CPU.
    """
    world = int(os.environ.get("WORLD_SIZE", 1))
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend)
    return dist_info()


def all_reduce_sum(values: list[float], device: torch.device) -> list[float]:
    """Sums a list of numbers over all processes (identity without a process group)."""
    info = dist_info()
    if info.world == 1:
        return list(values)
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


class ShardSampler(Sampler[int]):
    """Indices ``rank, rank + world, ...``: an exact partition, no padding (for evaluation)."""

    def __init__(self, length: int, rank: int, world: int) -> None:
        self.indices = list(range(rank, length, world))

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)
