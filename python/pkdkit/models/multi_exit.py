"""A torchvision ResNet with four exits: IC1-IC3 after ``layer1``-``layer3`` and the final fc.

Input is a batch of TSN segments ``(B, S, C, H, W)``; every exit's logits are averaged over the S
segments, as CoViAR and PKD do. Exits are numbered 1..4; exit 4 is the backbone's own classifier.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import torch
from torch import nn
from torchvision.models.resnet import ResNet

from ..vocabulary import NUM_EXITS
from .heads import ICHead

__all__ = ["MultiExitNet", "MODALITY_CHANNELS", "NUM_EXITS"]

#: Input channels of each modality: RGB I-frames, 2-D motion vectors, RGB residuals.
MODALITY_CHANNELS: dict[str, int] = {"iframe": 3, "mv": 2, "residual": 3}


class MultiExitNet(nn.Module):
    """One modality's network: optional ``data_bn``, a ResNet backbone and three IC heads.

    Args:
        backbone: a torchvision :class:`~torchvision.models.ResNet` whose ``conv1`` already takes
            the modality's channels and whose ``fc`` has ``num_classes`` outputs.
        heads: the three IC heads, reading the outputs of ``layer1``, ``layer2``, ``layer3``.
        modality: ``"iframe"``, ``"mv"`` or ``"residual"``.
        data_bn: BatchNorm over the input channels (CoViAR uses it for MV and residual), or None.
        config: the keyword arguments that rebuild this network with
            :func:`pkdkit.models.create_model`; saved in checkpoints.
    """

    def __init__(
        self,
        backbone: ResNet,
        heads: Sequence[ICHead],
        *,
        modality: str,
        data_bn: nn.BatchNorm2d | None = None,
        config: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if len(heads) != NUM_EXITS - 1:
            raise ValueError(f"expected {NUM_EXITS - 1} IC heads, got {len(heads)}")
        self.modality = modality
        self.data_bn = data_bn
        self.backbone = backbone
        self.ics = nn.ModuleList(heads)
        self.config: dict[str, Any] = dict(config or {})
        self.channels_last = False
        self._bn_frozen = False

    @property
    def num_classes(self) -> int:
        """Number of classes of every exit."""
        return self.backbone.fc.out_features

    # ----------------------------------------------------------------------------------- forward

    def forward(self, x: torch.Tensor, exits: Iterable[int] | None = None) -> list[torch.Tensor]:
        """Returns the logits of the requested exits, each averaged over segments.

        Only the backbone up to the deepest requested exit runs, and only the requested IC heads.

        Args:
            x: float input ``(B, S, C, H, W)`` (B clips, S segments) or ``(B, C, H, W)`` (one segment).
            exits: exit numbers in 1..4 (default: all four).

        Returns:
            One float tensor ``(B, num_classes)`` per requested exit, in increasing exit order.
        """
        wanted = _check_exits(exits)
        if x.dim() == 4:
            x = x.unsqueeze(1)
        if x.dim() != 5:
            raise ValueError(f"expected input (B, S, C, H, W), got shape {tuple(x.shape)}")
        if x.shape[2] != self.backbone.conv1.in_channels:
            raise ValueError(
                f"the {self.modality} network takes {self.backbone.conv1.in_channels} channels, "
                f"got input of shape {tuple(x.shape)}"
            )
        batch, segments = x.shape[:2]
        logits: list[torch.Tensor] = []
        for index, feature in self._stages(x.flatten(0, 1), max(wanted)):
            if index not in wanted:
                continue
            if index < NUM_EXITS:
                out = self.ics[index - 1](feature)
                logits.append(out.view(batch, segments, -1).mean(dim=1))
            else:
                logits.append(self.forward_head(feature, segments))
        return logits

    def forward_until(self, x: torch.Tensor, k: int) -> list[torch.Tensor]:
        """Logits of exits 1..k, computing nothing beyond exit ``k`` (for early-exit inference).

        Args:
            x: float input ``(B, S, C, H, W)``.
            k: the last exit to compute, 1..4.

        Returns:
            ``k`` float tensors ``(B, num_classes)``.
        """
        return self.forward(x, exits=range(1, k + 1))

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The last stage's output, per segment: float ``(B * S, C_4, H_4, W_4)`` for ``(B, S, C, H, W)``."""
        return self.forward_intermediates(x, (NUM_EXITS,))[0]

    def forward_head(self, features: torch.Tensor, segments: int = 1) -> torch.Tensor:
        """Exit 4 on :meth:`forward_features` output: pooled, fc, averaged over ``segments``.

        Returns:
            Float logits ``(B, num_classes)`` with ``B = features.shape[0] // segments``.
        """
        out = self.backbone.fc(torch.flatten(self.backbone.avgpool(features), 1))
        return out.view(-1, segments, out.shape[-1]).mean(dim=1)

    def forward_intermediates(
        self, x: torch.Tensor, indices: Iterable[int] = (1, 2, 3, 4)
    ) -> list[torch.Tensor]:
        """Stage outputs (after ``layer{i}``) for the given indices, per segment.

        Args:
            x: float input ``(B, S, C, H, W)``.
            indices: stage numbers in 1..4.

        Returns:
            Float feature maps ``(B * S, C_i, H_i, W_i)`` in increasing stage order.
        """
        wanted = _check_exits(indices)
        if x.dim() == 4:
            x = x.unsqueeze(1)
        return [f for i, f in self._stages(x.flatten(0, 1), max(wanted)) if i in wanted]

    def _stages(self, x: torch.Tensor, last: int) -> Iterator[tuple[int, torch.Tensor]]:
        """Yields ``(stage, output)`` for stages 1..last of a ``(N, C, H, W)`` batch."""
        bb = self.backbone
        if self.data_bn is not None:
            x = self.data_bn(x)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        x = bb.maxpool(bb.relu(bb.bn1(bb.conv1(x))))
        for index, layer in enumerate((bb.layer1, bb.layer2, bb.layer3, bb.layer4), start=1):
            x = layer(x)
            yield index, x
            if index == last:
                return

    # ------------------------------------------------------------------------ freezing / modes

    def backbone_modules(self) -> list[nn.Module]:
        """The modules of the backbone part (``data_bn`` and the ResNet, including exit 4's fc)."""
        return [m for m in (self.data_bn, self.backbone) if m is not None]

    def freeze_backbone(self, *, bn_stats: bool = True) -> None:
        """Stops gradients to the backbone (exit 4 included) and, by default, its BN statistics.

        Args:
            bn_stats: keep the backbone's BatchNorm layers in eval mode during ``train()``, so
                their running statistics do not move. ``False`` reproduces the authors' code, in
                which ``model.train()`` lets them drift while the ICs train.
        """
        for module in self.backbone_modules():
            module.requires_grad_(False)
        for head in self.ics:
            head.requires_grad_(True)
        self._bn_frozen = bn_stats
        self.train(self.training)

    def freeze_ics(self) -> None:
        """Stops gradients to the IC heads (backbone training only trains exit 4's path)."""
        for module in self.backbone_modules():
            module.requires_grad_(True)
        for head in self.ics:
            head.requires_grad_(False)
        self._bn_frozen = False

    def train(self, mode: bool = True) -> MultiExitNet:
        """Sets train/eval mode; a frozen backbone's BatchNorm stays in eval mode if so requested."""
        super().train(mode)
        if mode and self._bn_frozen:
            for module in self.backbone_modules():
                module.eval()
        return self

    def use_channels_last(self) -> MultiExitNet:
        """Converts weights and inputs to channels_last memory format (faster convs on CUDA)."""
        self.channels_last = True
        return self.to(memory_format=torch.channels_last)


def _check_exits(exits: Iterable[int] | None) -> list[int]:
    wanted = sorted(set(range(1, NUM_EXITS + 1) if exits is None else exits))
    if not wanted or wanted[0] < 1 or wanted[-1] > NUM_EXITS:
        raise ValueError(f"exits must be a non-empty subset of 1..{NUM_EXITS}, got {wanted}")
    return wanted
