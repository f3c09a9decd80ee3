"""Where torch work runs: one resolution of ``--device`` for every command and library call."""

from __future__ import annotations

import os

import torch

__all__ = ["DEVICE_CHOICES", "resolve_device"]

#: What ``--device`` accepts (``cuda:N`` is also taken by :func:`resolve_device`).
DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """``auto``/``None`` -> CUDA when available, else CPU; ``cuda`` -> this process's GPU
    (``LOCAL_RANK`` under ``torchrun``); ``cpu`` and ``cuda:N`` as given.

    Raises:
        ValueError: an unknown name, or CUDA asked for without a GPU.
    """
    if isinstance(device, torch.device):
        return device
    name = "auto" if device is None else str(device)
    if name not in DEVICE_CHOICES and not name.startswith("cuda:"):
        raise ValueError(f"unknown device {name!r}; expected auto, cpu or cuda")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"--device {name}: torch sees no CUDA GPU")
        if name == "cuda":
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return torch.device(name)
