"""Multi-exit networks on torchvision ResNets (weights=None: nothing is downloaded).

Every depth of torchvision (18, 34, 50, 101, 152) is registered, plus ``resnet10_tiny``, a
narrow one-block-per-stage ResNet for tests and the CPU demo. Any entrypoint takes ``widths`` to
narrow the four stages (e.g. ``resnet18(widths=(32, 64, 128, 256))``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Union

import torchvision
from torch import nn
from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet

from ._registry import register_model
from .heads import POOLS, create_ic_head
from .multi_exit import MODALITY_CHANNELS, MultiExitNet

__all__ = ["NarrowResNet", "build_multi_exit_resnet"]

Block = type[Union[BasicBlock, Bottleneck]]

_TORCHVISION_WIDTHS = (64, 128, 256, 512)


class NarrowResNet(ResNet):
    """A torchvision ResNet with custom stage widths (torchvision fixes them to 64..512).

    Built from torchvision's own blocks and ``_make_layer``, with the same attribute names, so
    the multi-exit wrapper and state-dict keys are the same as for a standard ResNet.

    Args:
        block: ``BasicBlock`` or ``Bottleneck``.
        layers: blocks per stage, four ints.
        widths: planes per stage, four ints (the stem has ``widths[0]`` channels).
        num_classes: outputs of the fc.
    """

    def __init__(self, block: Block, layers: Sequence[int], widths: Sequence[int], num_classes: int) -> None:
        nn.Module.__init__(self)
        self._norm_layer = nn.BatchNorm2d
        self.inplanes = widths[0]
        self.dilation = 1
        self.groups = 1
        self.base_width = 64  # torchvision's default: Bottleneck width = planes
        self.conv1 = nn.Conv2d(3, widths[0], kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, widths[0], layers[0])
        self.layer2 = self._make_layer(block, widths[1], layers[1], stride=2)
        self.layer3 = self._make_layer(block, widths[2], layers[2], stride=2)
        self.layer4 = self._make_layer(block, widths[3], layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(widths[3] * block.expansion, num_classes)
        for m in self.modules():  # the same initialisation as torchvision
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)


def build_multi_exit_resnet(
    depth: str,
    *,
    modality: str,
    num_classes: int,
    widths: Sequence[int] | None = None,
    ic_pool: str = "avg",
    ic_kernels: Sequence[int] | None = None,
    ic_channels: Sequence[int] | None = None,
) -> MultiExitNet:
    """Builds a :class:`MultiExitNet` on a ResNet of the given depth.

    Args:
        depth: ``"resnet10"`` (one block per stage), or a torchvision constructor name
            (``"resnet18"``, ``"resnet34"``, ``"resnet50"``, ``"resnet101"``, ``"resnet152"``).
        modality: ``"iframe"``, ``"mv"`` or ``"residual"``.
        num_classes: classes of every exit.
        widths: stage widths; None for torchvision's 64, 128, 256, 512.
        ic_pool: ``"avg"`` (paper) or ``"mixed"`` (SDN).
        ic_kernels: conv kernel of IC1..IC3. Default: the paper's (7, 3, 3) for BasicBlock nets
            with torchvision widths, (3, 3, 3) otherwise (a 7x7 conv needs a larger map).
        ic_channels: conv output channels of IC1..IC3. Default: the paper's rule, equal to the
            stage's channels for BasicBlock and 1/4, 1/2, 1 of them for Bottleneck (ResNet-50:
            64, 256, 1024).

    Returns:
        The network with random weights.
    """
    if ic_pool not in POOLS:
        raise ValueError(f"unknown IC pooling {ic_pool!r}; expected one of {', '.join(POOLS)}")
    block, layers = _DEPTHS[depth]
    if widths is None:
        widths = _TORCHVISION_WIDTHS
        if hasattr(torchvision.models, depth):
            backbone = getattr(torchvision.models, depth)(weights=None, num_classes=num_classes)
        else:
            backbone = ResNet(block, layers, num_classes=num_classes)
    else:
        widths = tuple(int(w) for w in widths)
        if len(widths) != 4 or min(widths) < 1:
            raise ValueError(f"widths must be four positive ints, got {widths}")
        backbone = NarrowResNet(block, layers, widths, num_classes)
    in_channels = MODALITY_CHANNELS[modality]
    if in_channels != backbone.conv1.in_channels:
        old = backbone.conv1
        backbone.conv1 = nn.Conv2d(
            in_channels, old.out_channels, kernel_size=7, stride=2, padding=3, bias=False
        )
        nn.init.kaiming_normal_(backbone.conv1.weight, mode="fan_out", nonlinearity="relu")
    stage_channels = [w * block.expansion for w in widths[:3]]
    if ic_channels is None:
        ratios = (1.0, 1.0, 1.0) if block is BasicBlock else (0.25, 0.5, 1.0)
        ic_channels = [max(1, int(c * r)) for c, r in zip(stage_channels, ratios)]
    if ic_kernels is None:
        paper_widths = tuple(widths) == _TORCHVISION_WIDTHS
        ic_kernels = (7, 3, 3) if block is BasicBlock and paper_widths else (3, 3, 3)
    if len(ic_kernels) != 3 or len(ic_channels) != 3:
        raise ValueError("ic_kernels and ic_channels need three values (IC1, IC2, IC3)")
    heads = [
        create_ic_head(c_in, int(c_out), num_classes, kernel_size=int(k), pool=ic_pool)
        for c_in, c_out, k in zip(stage_channels, ic_channels, ic_kernels)
    ]
    data_bn = nn.BatchNorm2d(in_channels) if modality in ("mv", "residual") else None
    return MultiExitNet(backbone, heads, modality=modality, data_bn=data_bn)


_DEPTHS: dict[str, tuple[Block, list[int]]] = {
    "resnet10": (BasicBlock, [1, 1, 1, 1]),
    "resnet18": (BasicBlock, [2, 2, 2, 2]),
    "resnet34": (BasicBlock, [3, 4, 6, 3]),
    "resnet50": (Bottleneck, [3, 4, 6, 3]),
    "resnet101": (Bottleneck, [3, 4, 23, 3]),
    "resnet152": (Bottleneck, [3, 8, 36, 3]),
}


@register_model
def resnet18(*, modality: str, num_classes: int, **kwargs) -> MultiExitNet:
    """ResNet-18 with exits (the paper's MV and residual network)."""
    return build_multi_exit_resnet("resnet18", modality=modality, num_classes=num_classes, **kwargs)


@register_model
def resnet34(*, modality: str, num_classes: int, **kwargs) -> MultiExitNet:
    """ResNet-34 with exits."""
    return build_multi_exit_resnet("resnet34", modality=modality, num_classes=num_classes, **kwargs)


@register_model
def resnet50(*, modality: str, num_classes: int, **kwargs) -> MultiExitNet:
    """ResNet-50 with exits (the paper's I-frame network)."""
    return build_multi_exit_resnet("resnet50", modality=modality, num_classes=num_classes, **kwargs)


@register_model
def resnet101(*, modality: str, num_classes: int, **kwargs) -> MultiExitNet:
    """ResNet-101 with exits."""
    return build_multi_exit_resnet("resnet101", modality=modality, num_classes=num_classes, **kwargs)


@register_model
def resnet152(*, modality: str, num_classes: int, **kwargs) -> MultiExitNet:
    """ResNet-152 with exits (CoViAR's I-frame network)."""
    return build_multi_exit_resnet("resnet152", modality=modality, num_classes=num_classes, **kwargs)


@register_model
def resnet10_tiny(*, modality: str, num_classes: int, **kwargs) -> MultiExitNet:
    """One BasicBlock per stage, widths 16/32/64/128: for tests and the CPU demo (~64x64 inputs)."""
    kwargs.setdefault("widths", (16, 32, 64, 128))
    return build_multi_exit_resnet("resnet10", modality=modality, num_classes=num_classes, **kwargs)
