"""Small tensor datasets and a tiny-network recipe for the model/training tests (no video needed)."""

from __future__ import annotations

import random

import numpy as np
import torch
from torch.utils.data import Dataset

CHANNELS = {"iframe": 3, "mv": 2, "residual": 3}


class SeparableClips(Dataset):
    """Clips ``(S, C, H, W)`` whose class is a fixed random pattern plus noise: linearly separable.

    With ``augment`` every item also draws from Python's, numpy's and torch's global generators
    (as real augmentation does), so resuming must restore all three to reproduce a run.
    """

    def __init__(
        self,
        n: int,
        *,
        classes: int = 4,
        segments: int = 2,
        size: int = 32,
        modalities: tuple[str, ...] = ("iframe",),
        seed: int = 0,
        noise: float = 1.0,
        augment: bool = False,
        fused: bool = False,
    ) -> None:
        g = torch.Generator().manual_seed(1234)  # class patterns shared by train and test sets
        self.patterns = {m: torch.randn(classes, CHANNELS[m], size, size, generator=g) for m in modalities}
        g = torch.Generator().manual_seed(seed)
        self.labels = torch.randint(0, classes, (n,), generator=g)
        self.inputs = {
            m: p[self.labels].unsqueeze(1) + noise * torch.randn(n, segments, CHANNELS[m], size, size, generator=g)
            for m, p in self.patterns.items()
        }
        self.modalities = modalities
        self.num_classes = classes
        self.augment = augment
        self.fused = fused
        self.poisoned = False

    def __len__(self) -> int:
        return len(self.labels)

    def _item(self, m: str, i: int) -> torch.Tensor:
        x = self.inputs[m][i]
        if self.augment:
            x = x * (1 + 0.05 * random.random()) + 0.05 * float(np.random.randn())  # noqa: NPY002 + 0.05 * torch.randn(())
        if self.poisoned:
            x = torch.full_like(x, float("nan"))
        return x

    def __getitem__(self, i: int):
        if self.fused:
            return {**{m: self._item(m, i) for m in self.modalities}, "label": self.labels[i]}
        return self._item(self.modalities[0], i), self.labels[i]


def tiny_config(**stage_overrides) -> dict:
    """The default recipe shrunk for tests: tiny networks, full lr multipliers, CPU, no workers."""
    from pkdkit.train import load_config

    overrides = {
        "run": {"device": "cpu", "workers": 0, "seed": 7},
        "model": {"arch": {m: "resnet10_tiny" for m in CHANNELS}},
        "backbone": {
            "epochs": 3, "lr_steps": [2], "lr": 0.003, "batch_size": 16,
            "lr_mult_stem": 1.0, "lr_mult_body": 1.0, "lr_mult_fc": 1.0,
        },
        "ics": {"epochs": 3, "lr_steps": [2], "lr": 0.003, "batch_size": 16, "boundaries": [1, 2]},
    }
    for stage, values in stage_overrides.items():
        overrides.setdefault(stage, {}).update(values)
    return load_config(None, overrides)


def state_equal(a: dict, b: dict) -> bool:
    """Whether two state dicts have the same keys and bit-identical tensors."""
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
