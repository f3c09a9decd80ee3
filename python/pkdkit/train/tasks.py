"""Training tasks: modules whose forward takes a batch and returns ``{'loss', 'output', ...}``.

A batch is either ``(inputs, labels)`` (one modality, :class:`pkdkit.data.CoviarDataset`) or a dict
with one entry per modality plus ``label`` (:class:`pkdkit.data.FusedDataset`), so teachers see the
same segments of the same clips as the student.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..models import MultiExitNet
from .schedule import TeacherSchedule

__all__ = ["CETask", "PKDTask", "unpack_batch"]

Batch = Any


def unpack_batch(batch: Batch, modality: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Returns ``(inputs (B, S, C, H, W) float, labels (B,) int64)`` of ``modality`` from a batch.

    Raises:
        KeyError: a dict batch without that modality (a fused dataset is needed).
    """
    if isinstance(batch, Mapping):
        if modality not in batch:
            raise KeyError(
                f"batch has no {modality!r} input (keys: {', '.join(map(str, batch))}); "
                "distilling from another modality needs the fused dataset"
            )
        return batch[modality], batch["label"]
    inputs, labels = batch[0], batch[1]
    return inputs, labels


class CETask(nn.Module):
    """Cross-entropy on some exits of one network (backbone training, or the IC baseline).

    Args:
        model: the network (possibly wrapped in DistributedDataParallel).
        modality: which input of a dict batch to read.
        exits: exits whose CE losses are summed: ``(4,)`` trains the backbone, ``(1, 2, 3)`` the ICs.
    """

    def __init__(self, model: nn.Module, modality: str, exits: Sequence[int] = (4,)) -> None:
        super().__init__()
        self.model = model
        self.modality = modality
        self.exits = tuple(exits)

    def set_epoch(self, epoch: int) -> None:
        """Nothing changes between epochs for plain CE."""

    def forward(self, batch: Batch) -> dict[str, Any]:
        """Returns ``loss`` (scalar), ``output`` (logits of ``exits``), ``ce_loss`` (per exit, detached)."""
        x, y = unpack_batch(batch, self.modality)
        logits = self.model(x, exits=self.exits)
        losses = [F.cross_entropy(z.float(), y) for z in logits]
        return {"loss": sum(losses), "output": logits, "ce_loss": [v.detach() for v in losses]}


class PKDTask(nn.Module):
    """Progressive knowledge distillation into IC1-IC3 of a network with a frozen backbone.

    The loss is the sum over the three ICs of ``distill(ic_logits, teacher_logits)``; since the ICs
    share no parameters and their inputs are detached from the frozen backbone, one Adam over the
    sum makes exactly the updates of the authors' one-optimiser-per-IC (Adam is per-parameter).

    Args:
        model: the student (its backbone already frozen; possibly DDP-wrapped).
        modality: the student's input modality.
        teachers: frozen networks by schedule name (``"mv"``, ``"residual"``, ``"iframe"``);
            each reads the batch entry of its own modality, in eval mode, under no_grad. A
            ``"self"`` or own-modality teacher without an entry is the student's own exit 4 from
            the same forward (detached): the frozen original when backbone BN statistics are
            frozen, and, when they drift, the train-mode final exit (batch statistics), exactly
            as the authors' code distils from its own output after epoch 100.
        schedule: the teacher of each epoch.
        distill: ``loss(student_logits, teacher_logits)`` (see :mod:`pkdkit.train.losses`).
    """

    def __init__(
        self,
        model: nn.Module,
        modality: str,
        teachers: Mapping[str, MultiExitNet],
        schedule: TeacherSchedule,
        distill: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    ) -> None:
        super().__init__()
        self.model = model
        self.modality = modality
        self.teachers = nn.ModuleDict(dict(teachers))
        for teacher in self.teachers.values():
            teacher.requires_grad_(False)
        self.schedule = schedule
        self.distill = distill
        self.teacher = schedule.teacher_at(0)

    def train(self, mode: bool = True) -> PKDTask:
        """Sets the student's mode; teachers always stay in eval mode."""
        super().train(mode)
        self.teachers.eval()
        return self

    def set_epoch(self, epoch: int) -> None:
        """Switches to the teacher the schedule gives for ``epoch``."""
        name = self.schedule.teacher_at(epoch)
        if name not in self.teachers and name not in ("self", self.modality):
            raise ValueError(
                f"the schedule wants a {name!r} teacher at epoch {epoch}, but only "
                f"{', '.join(self.teachers) or 'none'} were given"
            )
        self.teacher = name

    def forward(self, batch: Batch) -> dict[str, Any]:
        """Returns ``loss``, ``output`` (IC1-IC3 logits), ``kd_loss`` (per IC) and ``teacher``."""
        x, _ = unpack_batch(batch, self.modality)
        # The student's own modality (or "self") without a separate teacher: its own final exit.
        own_final = self.teacher not in self.teachers
        logits = self.model(x, exits=(1, 2, 3, 4) if own_final else (1, 2, 3))
        if own_final:
            target = logits.pop().detach()
        else:
            teacher = self.teachers[self.teacher]
            t_in, _ = unpack_batch(batch, teacher.modality)
            with torch.no_grad():
                target = teacher(t_in, exits=(4,))[0]
        losses = [self.distill(z, target.float()) for z in logits]
        return {
            "loss": sum(losses),
            "output": logits,
            "kd_loss": [v.detach() for v in losses],
            "teacher": self.teacher,
        }
