"""Seeded random vectors drawn on the CPU, so a seed gives the same numbers on CPU and CUDA."""

from __future__ import annotations

import torch


def generator(seed: int) -> torch.Generator:
    """A private CPU generator: metrics never touch (or depend on) the global RNG."""
    return torch.Generator(device="cpu").manual_seed(int(seed))


def gaussian(gen: torch.Generator, size: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Standard normal vector, shape ``(size,)``."""
    return torch.randn(size, generator=gen, dtype=torch.float64).to(device=device, dtype=dtype)


def uniform(gen: torch.Generator, size: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Uniform vector on ``[-1, 1]``, shape ``(size,)``."""
    values = 2 * torch.rand(size, generator=gen, dtype=torch.float64) - 1
    return values.to(device=device, dtype=dtype)


def rademacher(gen: torch.Generator, size: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Vector of independent +-1 with equal probability, shape ``(size,)``."""
    signs = torch.randint(0, 2, (size,), generator=gen, dtype=torch.int8) * 2 - 1
    return signs.to(device=device, dtype=dtype)
