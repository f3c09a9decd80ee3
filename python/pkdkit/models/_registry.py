"""Model registry: entrypoint functions registered by name, built with :func:`create_model`."""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any, Callable

from ._pretrained import load_pretrained
from .multi_exit import MODALITY_CHANNELS, MultiExitNet

__all__ = ["register_model", "create_model", "list_models", "DEFAULT_ARCH", "check_modality"]

_ENTRYPOINTS: dict[str, Callable[..., MultiExitNet]] = {}

#: The paper's choice per modality (paper.md section 2): ResNet-50 for I-frames, ResNet-18 else.
DEFAULT_ARCH: dict[str, str] = {"iframe": "resnet50", "mv": "resnet18", "residual": "resnet18"}


def register_model(fn: Callable[..., MultiExitNet]) -> Callable[..., MultiExitNet]:
    """Decorator that registers a model entrypoint under its function name."""
    _ENTRYPOINTS[fn.__name__] = fn
    return fn


def list_models(pattern: str = "*") -> list[str]:
    """Sorted names of the registered architectures matching a shell-style ``pattern``."""
    return sorted(n for n in _ENTRYPOINTS if fnmatch.fnmatchcase(n, pattern))


def check_modality(modality: str) -> str:
    """Returns ``modality`` if known, else raises ValueError naming the allowed ones."""
    if modality not in MODALITY_CHANNELS:
        raise ValueError(f"unknown modality {modality!r}; expected one of {', '.join(MODALITY_CHANNELS)}")
    return modality


def create_model(
    arch: str | None = None,
    *,
    modality: str,
    num_classes: int,
    pretrained: str | Path | None = None,
    **kwargs: Any,
) -> MultiExitNet:
    """Builds a multi-exit network for one modality.

    Args:
        arch: a registered name (see :func:`list_models`), or None for the paper's default for
            ``modality`` (``resnet50`` for I-frames, ``resnet18`` for MV and residual).
        modality: ``"iframe"``, ``"mv"`` or ``"residual"``; sets the input channels (3, 2, 3) and
            whether the input passes through ``data_bn`` (MV and residual).
        num_classes: classes of every exit.
        pretrained: a torchvision ResNet state dict file to start from (the stem is adapted to
            2-channel MV input, the fc is skipped); nothing is ever downloaded.
        **kwargs: architecture options, e.g. ``ic_pool="mixed"``, ``ic_kernels=(3, 3, 3)``,
            ``widths=(16, 32, 64, 128)``.

    Returns:
        The network, in train mode, with its rebuild arguments in ``model.config``.

    Raises:
        ValueError: unknown architecture or modality, or a bad option value.
    """
    check_modality(modality)
    name = arch or DEFAULT_ARCH[modality]
    if name not in _ENTRYPOINTS:
        raise ValueError(f"unknown architecture {name!r}; available: {', '.join(list_models())}")
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    model = _ENTRYPOINTS[name](modality=modality, num_classes=num_classes, **kwargs)
    model.config = {"arch": name, "modality": modality, "num_classes": num_classes, **kwargs}
    if pretrained is not None:
        load_pretrained(model, pretrained)
    return model
