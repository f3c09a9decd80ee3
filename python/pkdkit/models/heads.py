"""Internal-classifier (IC) heads: the small classifiers attached after ResNet stages.

The paper's head is ``Conv2d (no bias) -> BatchNorm2d -> AdaptiveAvgPool2d(4) -> flatten -> Linear``
with no ReLU (paper.md section 2). SDN's head pools with a learned mix of max and average pooling
(peers.md section 3a); here that pooling is an option on the same head.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ICHead", "MixedPool2d", "create_pool", "create_ic_head", "POOLS"]

POOLS = ("avg", "mixed")


class MixedPool2d(nn.Module):
    """SDN's pooling: ``alpha * max_pool + (1 - alpha) * avg_pool`` with a learned scalar ``alpha``.

    Args:
        output_size: side of the square output map (4 in SDN and PKD).
    """

    def __init__(self, output_size: int = 4) -> None:
        super().__init__()
        self.output_size = output_size
        # SDN initialises the mixing weight uniformly in [0, 1).
        self.alpha = nn.Parameter(torch.rand(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pools ``(N, C, H, W)`` to ``(N, C, output_size, output_size)``."""
        mx = F.adaptive_max_pool2d(x, self.output_size)
        av = F.adaptive_avg_pool2d(x, self.output_size)
        return self.alpha * mx + (1 - self.alpha) * av


def create_pool(kind: str, output_size: int = 4) -> nn.Module:
    """Returns the pooling layer of an IC head.

    Args:
        kind: ``"avg"`` (the paper's AdaptiveAvgPool2d) or ``"mixed"`` (SDN's learned max/avg mix).
        output_size: side of the square pooled map.

    Raises:
        ValueError: ``kind`` is not one of :data:`POOLS`.
    """
    if kind == "avg":
        return nn.AdaptiveAvgPool2d(output_size)
    if kind == "mixed":
        return MixedPool2d(output_size)
    raise ValueError(f"unknown IC pooling {kind!r}; expected one of {', '.join(POOLS)}")


class ICHead(nn.Module):
    """One internal classifier: conv + BN + pooling to 4x4 + a linear layer (no ReLU).

    Args:
        in_channels: channels of the stage output it reads.
        out_channels: channels of its conv.
        num_classes: number of classes.
        kernel_size: conv kernel side (the paper uses 7 for ResNet-18's first IC, 3 elsewhere).
        padding: conv padding (1 in the paper for every kernel size).
        pool: ``"avg"`` or ``"mixed"`` (see :func:`create_pool`).
        pool_size: side of the pooled map (4).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        num_classes: int,
        *,
        kernel_size: int = 3,
        padding: int = 1,
        pool: str = "avg",
        pool_size: int = 4,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)
        self.pool = create_pool(pool, pool_size)
        self.fc = nn.Linear(out_channels * pool_size * pool_size, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Maps a float stage output ``(N, C_in, H, W)`` to logits ``(N, num_classes)``."""
        h = self.pool(self.bn(self.conv(x)))
        return self.fc(torch.flatten(h, 1))


def create_ic_head(
    in_channels: int,
    out_channels: int,
    num_classes: int,
    *,
    kernel_size: int = 3,
    pool: str = "avg",
) -> ICHead:
    """Builds one IC head with the paper's padding and 4x4 pooling (see :class:`ICHead`)."""
    return ICHead(in_channels, out_channels, num_classes, kernel_size=kernel_size, pool=pool)
