"""Optimisers and learning-rate schedules: CoViAR's Adam with per-parameter lr multipliers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..models import MultiExitNet

__all__ = ["backbone_param_groups", "ic_param_groups", "create_optimizer", "create_scheduler"]


def backbone_param_groups(model: MultiExitNet, cfg: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Parameter groups of backbone training with CoViAR's multipliers.

    ``conv1``/``bn1``/``data_bn`` get ``lr_mult_stem``, the fc (exit 4) ``lr_mult_fc``, the rest
    ``lr_mult_body``; biases get no weight decay unless ``bias_decay``. Only trainable parameters.

    Args:
        model: the network.
        cfg: a resolved ``backbone`` stage (see :func:`pkdkit.train.config.resolve`).

    Returns:
        Groups with ``params``, ``lr`` and ``weight_decay`` for :class:`torch.optim.Adam`.
    """
    groups: dict[tuple[float, float], list[nn.Parameter]] = {}
    named = [("data_bn." + n, p) for n, p in model.data_bn.named_parameters()] if model.data_bn else []
    named += list(model.backbone.named_parameters())
    for name, param in named:
        if not param.requires_grad:
            continue
        if name.startswith(("conv1.", "bn1.", "data_bn.")):
            mult = cfg["lr_mult_stem"]
        elif name.startswith("fc."):
            mult = cfg["lr_mult_fc"]
        else:
            mult = cfg["lr_mult_body"]
        decay = cfg["weight_decay"] if (cfg["bias_decay"] or not name.endswith("bias")) else 0.0
        groups.setdefault((cfg["lr"] * mult, decay), []).append(param)
    return [{"params": p, "lr": lr, "weight_decay": wd} for (lr, wd), p in groups.items()]


def ic_param_groups(model: MultiExitNet, cfg: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One group with the IC heads' parameters (their Linear biases only if ``train_ic_bias``)."""
    params = [
        p
        for name, p in model.ics.named_parameters()
        if p.requires_grad and (cfg["train_ic_bias"] or not name.endswith("fc.bias"))
    ]
    return [{"params": params, "lr": cfg["lr"], "weight_decay": cfg["weight_decay"]}]


def create_optimizer(groups: list[dict[str, Any]], cfg: Mapping[str, Any]) -> torch.optim.Adam:
    """Adam (L2 weight decay per group, ``eps`` from the config: 1e-3 in CoViAR/PKD)."""
    return torch.optim.Adam(groups, lr=cfg["lr"], eps=cfg["eps"])


def create_scheduler(optimizer: torch.optim.Optimizer, cfg: Mapping[str, Any]) -> torch.optim.lr_scheduler.MultiStepLR:
    """Step schedule: every group's lr times ``lr_gamma`` at each epoch in ``lr_steps``."""
    return torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=list(cfg["lr_steps"]), gamma=cfg["lr_gamma"])
