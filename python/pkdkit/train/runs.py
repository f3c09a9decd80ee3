"""The two training stages as library functions: backbone CE training and IC training (CE or PKD).

Both are dataset-agnostic: they take torch datasets yielding ``(inputs (S, C, H, W), label)`` or
fused dicts (``iframe``, ``mv``, ``residual``, ``label``), so tests run them on tensors and the
CLI on :mod:`pkdkit.data` datasets.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import Dataset

from ..models import MultiExitNet, create_model, load_checkpoint
from .config import load_config, resolve
from .distributed import init_distributed, resolve_device
from .loop import FitOptions, fit
from .losses import create_distill_loss
from .optim import backbone_param_groups, create_optimizer, create_scheduler, ic_param_groups
from .schedule import create_schedule
from .tasks import CETask, PKDTask

__all__ = ["train_backbone", "train_ics", "seed_everything", "IC_METHODS"]

IC_METHODS = ("pkd", "ce")


def seed_everything(seed: int) -> None:
    """Seeds Python's, numpy's and torch's global generators (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002  (the global generator user augmentations use)
    torch.manual_seed(seed)


def _prepare(model: MultiExitNet, device: torch.device, run: Mapping[str, Any], world: int) -> nn.Module:
    """Moves the model to ``device`` (channels_last on CUDA) and wraps it in DDP when distributed."""
    model.to(device)
    if device.type == "cuda" and run["channels_last"]:
        model.use_channels_last()
    if world == 1:
        return model
    if device.type == "cuda" and run["sync_bn"]:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def _options(cfg: Mapping[str, Any], device: torch.device, **kw: Any) -> FitOptions:
    return FitOptions(
        epochs=int(cfg["epochs"]),
        batch_size=int(cfg["batch_size"]),
        test_batch_size=int(cfg["data"]["test_batch_size"]),
        seed=int(cfg["run"]["seed"]),
        workers=int(cfg["run"]["workers"]),
        device=device,
        eval_every=int(cfg["run"]["eval_every"]),
        amp=bool(cfg["run"]["amp"]),
        **kw,
    )


def train_backbone(
    out: str | Path,
    *,
    modality: str,
    train_set: Dataset,
    test_set: Dataset | None,
    num_classes: int,
    config: Mapping[str, Any] | None = None,
    resume: bool = False,
    progress: bool = True,
    step_hook: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Trains one modality's network by cross-entropy on its final exit (CoViAR's recipe).

    Adam with CoViAR's per-parameter lr multipliers and step schedule, from ``config["backbone"]``
    resolved for ``modality``. The IC heads are not trained here.

    Args:
        out: run directory (checkpoint, ``config.toml``, metrics, ``curves.png``, ``summary.json``).
        modality: ``"iframe"``, ``"mv"`` or ``"residual"``.
        train_set: training clips.
        test_set: test clips, evaluated per exit (None to skip).
        num_classes: number of classes.
        config: a full config (:func:`pkdkit.train.config.load_config`); None for the defaults.
        resume: continue from ``out/checkpoint.pt``.
        progress: show progress bars.
        step_hook: see :class:`pkdkit.train.loop.FitOptions`.

    Returns:
        The run summary (final per-exit test accuracy, throughput).
    """
    config = dict(config or load_config())
    cfg = resolve(config, "backbone", modality)
    device = resolve_device(cfg["run"]["device"])
    info = init_distributed(device)
    seed_everything(int(cfg["run"]["seed"]))
    model = create_model(
        cfg["model"]["arch"],
        modality=modality,
        num_classes=num_classes,
        ic_pool=cfg["model"]["ic_pool"],
        pretrained=cfg["model"]["pretrained"] or None,
    )
    model.freeze_ics()
    wrapped = _prepare(model, device, cfg["run"], info.world)
    optimizer = create_optimizer(backbone_param_groups(model, cfg), cfg)
    scheduler = create_scheduler(optimizer, cfg)
    task = CETask(wrapped, modality, exits=(4,))
    options = _options(
        cfg, device, resume=resume, progress=progress, title=f"{modality} backbone", config=config,
        step_hook=step_hook,
    )
    return fit(task, model, optimizer, scheduler, train_set, test_set, out, options)


def _as_model(source: str | Path | MultiExitNet) -> MultiExitNet:
    return source if isinstance(source, MultiExitNet) else load_checkpoint(source)


def train_ics(
    out: str | Path,
    *,
    method: str,
    backbone: str | Path | MultiExitNet,
    train_set: Dataset,
    test_set: Dataset | None,
    teachers: Mapping[str, str | Path | MultiExitNet] | Sequence[str | Path | MultiExitNet] | None = None,
    config: Mapping[str, Any] | None = None,
    resume: bool = False,
    progress: bool = True,
    step_hook: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Trains IC1-IC3 of a trained network with its backbone (and exit 4) frozen.

    ``method="ce"``: the sum of the ICs' cross-entropies (the baseline). ``method="pkd"``:
    progressive knowledge distillation, the soft-target loss against the final logits of the
    teacher the schedule names for the epoch (``config["ics"]``: ``schedule``, ``boundaries``,
    ``temperature``, ``loss``, ``freeze_bn_stats``).

    Args:
        out: run directory.
        method: ``"pkd"`` or ``"ce"``.
        backbone: the student's backbone run directory, checkpoint file or network.
        train_set: training data; PKD with another modality's teacher needs fused dict batches.
        test_set: test data of the student's modality (tuples or fused dicts), or None.
        teachers: other modalities' trained networks (run dirs, files or networks), keyed by
            modality; a list of runs is keyed by the modality saved in each checkpoint.
        config: a full config; None for the defaults.
        resume: continue from ``out/checkpoint.pt``.
        progress: show progress bars.
        step_hook: see :class:`pkdkit.train.loop.FitOptions`.

    Returns:
        The run summary.

    Raises:
        ValueError: unknown method, a teacher the schedule needs is missing, or class counts differ.
    """
    if method not in IC_METHODS:
        raise ValueError(f"unknown IC training method {method!r}; expected one of {', '.join(IC_METHODS)}")
    config = dict(config or load_config())
    student = _as_model(backbone)
    modality = student.modality
    cfg = resolve(config, "ics", modality)
    device = resolve_device(cfg["run"]["device"])
    info = init_distributed(device)
    seed_everything(int(cfg["run"]["seed"]))
    # Fresh IC heads under this run's seed (a backbone run leaves them at their random init).
    fresh = create_model(**student.config)
    student.ics.load_state_dict(fresh.ics.state_dict())
    student.train()
    student.freeze_backbone(bn_stats=bool(cfg["freeze_bn_stats"]))

    teacher_models: dict[str, MultiExitNet] = {}
    if method == "pkd":
        schedule = create_schedule(cfg["schedule"], cfg["boundaries"], cfg["fixed_teacher"])
        given: dict[str, MultiExitNet] = {}
        if isinstance(teachers, Mapping):
            given = {key: _as_model(source) for key, source in teachers.items()}
        else:  # a list of runs: each keyed by the modality saved in it
            given = {net.modality: net for net in map(_as_model, teachers or ())}
        for name in schedule.needed(int(cfg["epochs"])):
            if name in given and name != modality:
                teacher_models[name] = given[name].eval()
            elif name in ("self", modality):
                # The student's own final exit, from the same forward (PKDTask): the frozen original
                # with frozen BN statistics, the authors' train-mode exit when they drift.
                continue
            else:
                raise ValueError(
                    f"the {cfg['schedule']} schedule needs a {name!r} teacher: pass its backbone run "
                    f"with --teachers"
                )
        for name, net in teacher_models.items():
            if net.num_classes != student.num_classes:
                raise ValueError(
                    f"teacher {name!r} has {net.num_classes} classes, the student {student.num_classes}"
                )
        distill = create_distill_loss(cfg["loss"], float(cfg["temperature"]))

    wrapped = _prepare(student, device, cfg["run"], info.world)
    if method == "pkd":
        for net in teacher_models.values():
            _prepare(net, device, cfg["run"], 1)
        task: nn.Module = PKDTask(wrapped, modality, teacher_models, schedule, distill)
    else:
        task = CETask(wrapped, modality, exits=(1, 2, 3))
    # train_ic_bias is a PKD setting: the CE baseline always trains the IC biases, as the authors' does.
    bias_cfg = {**cfg, "train_ic_bias": bool(cfg["train_ic_bias"]) or method == "ce"}
    optimizer = create_optimizer(ic_param_groups(student, bias_cfg), cfg)
    scheduler = create_scheduler(optimizer, cfg)
    options = _options(
        cfg, device, resume=resume, progress=progress, title=f"{modality} ICs ({method})", config=config,
        step_hook=step_hook,
    )
    return fit(task, student, optimizer, scheduler, train_set, test_set, out, options)
