"""Starting a network from a torchvision ResNet state dict the user has (nothing is downloaded)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from .multi_exit import MultiExitNet

__all__ = ["load_pretrained"]

# Prefixes that wrappers put in front of torchvision's keys: DataParallel/DDP ("module."),
# CoViAR's Model ("base_model."), pkdkit's MultiExitNet ("backbone.").
_PREFIXES = ("module.", "base_model.", "backbone.")


def _unwrap(obj: Any, path: Path) -> Mapping[str, torch.Tensor]:
    for key in ("state_dict", "model"):
        if isinstance(obj, Mapping) and key in obj and isinstance(obj[key], Mapping):
            obj = obj[key]
    if not isinstance(obj, Mapping) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ValueError(f"{path}: expected a state dict of tensors")
    return obj


def _strip(key: str) -> str:
    changed = True
    while changed:
        changed = False
        for prefix in _PREFIXES:
            if key.startswith(prefix):
                key, changed = key[len(prefix) :], True
    return key


def load_pretrained(model: MultiExitNet, path: str | Path) -> dict[str, list[str]]:
    """Copies a torchvision ResNet state dict a user has into the backbone (fc skipped).

    Accepts a plain ``state_dict``, or a dict holding one under ``state_dict``/``model``, with
    ``module.``/``base_model.`` prefixes (DDP, CoViAR checkpoints). A 3-channel ``conv1`` loaded
    into a 2-channel MV stem is averaged over the RGB channels and repeated (the TSN recipe for
    flow-like inputs). A ``data_bn`` entry, if present, is loaded too.

    Args:
        model: the network to initialise (modified in place).
        path: a ``.pth`` file; never downloaded.

    Returns:
        ``{"loaded": [...], "skipped": [...]}`` key names (backbone-relative).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: the file has no usable ResNet weights or the shapes do not fit the network.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such pretrained weights file")
    source = {_strip(k): v for k, v in _unwrap(torch.load(path, map_location="cpu", weights_only=True), path).items()}
    target = model.backbone.state_dict()
    loaded, skipped = [], []
    new_state: dict[str, torch.Tensor] = {}
    for key, value in source.items():
        if key.startswith("fc."):
            skipped.append(key)
            continue
        if key.startswith("data_bn.") and model.data_bn is not None:
            sub = key[len("data_bn.") :]
            if sub in model.data_bn.state_dict():
                model.data_bn.state_dict()[sub].copy_(value)
                loaded.append(key)
                continue
        if key not in target:
            raise ValueError(
                f"{path}: weight {key!r} has no place in a {model.config.get('arch', '?')} backbone "
                "(is this a state dict of a deeper ResNet?)"
            )
        want = target[key]
        if key == "conv1.weight" and value.shape[1] != want.shape[1] and value.shape[0] == want.shape[0]:
            value = value.mean(dim=1, keepdim=True).expand(-1, want.shape[1], -1, -1).clone()
        if value.shape != want.shape:
            raise ValueError(
                f"{path}: {key} has shape {tuple(value.shape)}, the network needs {tuple(want.shape)} "
                f"(is this the right depth, {model.config.get('arch', '?')}?)"
            )
        new_state[key] = value
        loaded.append(key)
    missing = [k for k in target if k not in new_state and not k.startswith("fc.")]
    if missing:
        raise ValueError(
            f"{path}: {len(missing)} backbone weights missing, e.g. {', '.join(missing[:3])} "
            f"(is this a torchvision ResNet state dict of {model.config.get('arch', '?')}?)"
        )
    model.backbone.load_state_dict(new_state, strict=False)
    return {"loaded": loaded, "skipped": skipped}
