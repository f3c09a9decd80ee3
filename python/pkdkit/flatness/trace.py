"""Hessian trace by Hutchinson's estimator with Rademacher probe vectors."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from torch import nn

from ._objective import Criterion, Data, Objective
from ._random import generator, rademacher
from ._state import measuring
from .hvp import HessianOperator


@dataclass(frozen=True)
class TraceResult:
    """Hutchinson estimate of the Hessian trace.

    Attributes:
        mean: the estimate, the mean of ``v^T H v`` over the probes.
        stderr: its standard error, ``std(samples, ddof=1) / sqrt(n)``.
        samples: the probe values ``v^T H v``, one per probe (one HVP each).
        hvps: Hessian-vector products used.
    """

    mean: float
    stderr: float
    samples: tuple[float, ...]
    hvps: int

    def __repr__(self) -> str:
        return f"TraceResult(mean={self.mean:.6g}, stderr={self.stderr:.3g}, hvps={self.hvps})"


def hessian_trace(
    model: nn.Module,
    criterion: Criterion,
    data: Data,
    *,
    samples: int = 100,
    seed: int = 0,
    exit_index: int = -1,
) -> TraceResult:
    """Estimate ``tr(H)`` of the mean loss on a fixed data subset (Hutchinson).

    For ``v`` with independent +-1 entries, ``E[v^T H v] = tr(H)``; the estimate is the mean of
    ``samples`` such products, and its variance is ``2 * sum_{i != j} H_ij^2 / samples`` (zero
    for a diagonal Hessian). The model is measured in eval mode and restored afterwards.

    Args:
        model: any network; if it returns a list of logits, ``exit_index`` picks one.
        criterion: ``criterion(logits, targets)`` -> scalar mean loss.
        data: the fixed subset: an iterable of ``(inputs, targets)`` batches.
        samples: number of probe vectors (at least 2, for the standard error).
        seed: seed of the probes (the global RNG is not touched).
        exit_index: exit to measure for multi-exit networks (-1: the final one).

    Returns:
        A :class:`TraceResult` with the mean and its standard error.

    Raises:
        ValueError: if ``samples < 2``.
    """
    if samples < 2:
        raise ValueError(f"samples must be at least 2 to give a standard error, got {samples}")
    with measuring(model):
        operator = HessianOperator(Objective(model, criterion, data, exit_index=exit_index))
        obj = operator.objective
        gen = generator(seed)
        values = []
        for _ in range(samples):
            probe = rademacher(gen, operator.dim, obj.dtype, obj.device)
            values.append(float(probe @ operator(probe)))
    array = np.asarray(values, dtype=np.float64)
    return TraceResult(
        mean=float(array.mean()),
        stderr=float(array.std(ddof=1)) / math.sqrt(samples),
        samples=tuple(values),
        hvps=operator.count,
    )
