"""Distillation losses on logits.

* :func:`soft_target_cross_entropy`: the PKD authors' loss, ``-sum_c p_t log p_s`` with both
  distributions at temperature T, averaged over the batch; no hard-label term and no T^2 factor.
* :func:`kd_kl_div`: Hinton's ``T^2 * KL(p_t || p_s)`` (batch mean). Its gradient equals the soft
  CE's times T^2; the two logged values differ by the teacher's entropy (peers.md section 4).
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

__all__ = ["soft_target_cross_entropy", "kd_kl_div", "create_distill_loss", "DISTILL_LOSSES"]

DISTILL_LOSSES = ("soft_ce", "kl")


def _check(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> None:
    if student.shape != teacher.shape or student.dim() != 2:
        raise ValueError(
            f"student and teacher logits must both be (N, classes), got {tuple(student.shape)} "
            f"and {tuple(teacher.shape)}"
        )
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")


def soft_target_cross_entropy(
    student: torch.Tensor, teacher: torch.Tensor, temperature: float = 1.0
) -> torch.Tensor:
    """Cross-entropy of the student's softened distribution against the teacher's.

    Args:
        student: float logits ``(N, K)``.
        teacher: float logits ``(N, K)``; no gradient flows to them.
        temperature: T > 0 applied to both.

    Returns:
        Scalar ``mean_n(-sum_k softmax(t/T) * log_softmax(s/T))``.
    """
    _check(student, teacher, temperature)
    target = F.softmax(teacher.detach().float() / temperature, dim=1)
    return -(target * F.log_softmax(student.float() / temperature, dim=1)).sum(dim=1).mean()


def kd_kl_div(student: torch.Tensor, teacher: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Hinton's distillation loss: ``T^2 * KL(softmax(t/T) || softmax(s/T))``, batch mean.

    Args:
        student: float logits ``(N, K)``.
        teacher: float logits ``(N, K)``; no gradient flows to them.
        temperature: T > 0.

    Returns:
        Scalar loss.
    """
    _check(student, teacher, temperature)
    log_p_s = F.log_softmax(student.float() / temperature, dim=1)
    log_p_t = F.log_softmax(teacher.detach().float() / temperature, dim=1)
    kl = F.kl_div(log_p_s, log_p_t, reduction="batchmean", log_target=True)
    return kl * temperature**2


def create_distill_loss(
    name: str, temperature: float = 1.0
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Returns ``loss(student, teacher)`` for ``name`` in :data:`DISTILL_LOSSES` at ``temperature``.

    Raises:
        ValueError: unknown name or a temperature <= 0.
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if name == "soft_ce":
        return lambda s, t: soft_target_cross_entropy(s, t, temperature)
    if name == "kl":
        return lambda s, t: kd_kl_div(s, t, temperature)
    raise ValueError(f"unknown distillation loss {name!r}; expected one of {', '.join(DISTILL_LOSSES)}")
