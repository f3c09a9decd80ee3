"""Hessian trace: Hutch++ (default) or Hutchinson's estimator, with a confidence interval.

Hutchinson: for ``v`` with independent +-1 entries, ``E[v^T H v] = tr(H)``; the estimate is the
mean of ``n`` such products and its variance ``2 * sum_{i != j} H_ij^2 / n``.

Hutch++ (Meyer, Musco, Musco and Woodruff, SOSA 2021) spends a third of the budget ``m`` on a
sketch: ``Q`` = an orthonormal basis of ``H S`` for ``m/3`` random sign vectors ``S``. The trace
splits into ``tr(Q^T H Q)``, computed exactly with ``m/3`` more products, plus the trace of the
deflated ``(I - QQ^T) H (I - QQ^T)``, estimated by Hutchinson with the last ``m/3`` probes. A
Hessian's trace is dominated by a few large outlier eigenvalues; the sketch captures them, so the
remaining estimate has a far smaller variance: error ``O(1/m)`` instead of ``O(1/sqrt(m))`` for
spectra that decay.

Confidence interval. The sketched part is exact given ``Q``; the interval comes from the spread
of the Hutchinson samples (of ``H`` itself, or of the deflated ``H``): mean +- t * stderr with
Student's t quantile for ``n - 1`` degrees of freedom. Memory: Hutch++ holds ``m/3`` vectors of
``P`` numbers on the model's device.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ._objective import Criterion, Data, Objective
from ._random import generator, rademacher
from ._state import measuring
from .hvp import HessianOperator

METHODS = ("hutch++", "hutchinson")


@dataclass(frozen=True)
class TraceResult:
    """An estimate of the Hessian trace with its uncertainty.

    Attributes:
        mean: the estimate (for Hutch++: ``sketched + mean(samples)``).
        stderr: the standard error of the random part, ``std(samples, ddof=1) / sqrt(n)``.
        samples: the Hutchinson probe values ``v^T H v`` (Hutch++: of the deflated Hessian).
        hvps: Hessian-vector products used (each a pass over the whole subset).
        method: ``"hutch++"`` or ``"hutchinson"``.
        sketched: Hutch++'s exact part ``tr(Q^T H Q)`` (0 for Hutchinson).
        ci95: the 95 % confidence interval ``(low, high)`` (Student's t on the samples).
    """

    mean: float
    stderr: float
    samples: tuple[float, ...]
    hvps: int
    method: str = "hutchinson"
    sketched: float = 0.0
    ci95: tuple[float, float] = (math.nan, math.nan)

    def __repr__(self) -> str:
        return (
            f"TraceResult(mean={self.mean:.6g}, stderr={self.stderr:.3g}, "
            f"ci95=({self.ci95[0]:.6g}, {self.ci95[1]:.6g}), hvps={self.hvps}, method={self.method!r})"
        )


_T975_SMALL = {1: 12.7062, 2: 4.3027, 3: 3.1824, 4: 2.7764, 5: 2.5706, 6: 2.4469, 7: 2.3646}


def t_quantile_975(dof: int) -> float:
    """Student's t 0.975 quantile (two-sided 95 %): a table for 1-7 degrees of freedom, then the
    Cornish-Fisher expansion around the normal quantile (within 1e-3 from 8 on)."""
    if dof < 1:
        raise ValueError(f"degrees of freedom must be at least 1, got {dof}")
    if dof in _T975_SMALL:
        return _T975_SMALL[dof]
    z, v = 1.959963984540054, float(dof)
    z3, z5, z7 = z**3, z**5, z**7
    return (
        z
        + (z3 + z) / (4 * v)
        + (5 * z5 + 16 * z3 + 3 * z) / (96 * v**2)
        + (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * v**3)
    )


def hessian_trace(
    model: nn.Module,
    criterion: Criterion,
    data: Data,
    *,
    samples: int = 99,
    method: str = "hutch++",
    seed: int = 0,
    exit_index: int = -1,
) -> TraceResult:
    """Estimate ``tr(H)`` of the mean loss on a fixed data subset.

    The model is measured in eval mode and restored afterwards.

    Args:
        model: any network; if it returns a list of logits, ``exit_index`` picks one.
        criterion: ``criterion(logits, targets)`` -> scalar mean loss.
        data: the fixed subset: an iterable of ``(inputs, targets)`` batches.
        samples: the budget of Hessian-vector products (Hutch++: rounded down to a multiple of 3,
            at least 6; Hutchinson: at least 2).
        method: ``"hutch++"`` or ``"hutchinson"`` (see the module docstring).
        seed: seed of the probes (the global RNG is not touched).
        exit_index: exit to measure for multi-exit networks (-1: the final one).

    Returns:
        A :class:`TraceResult` with the estimate, its standard error and 95 % interval.

    Raises:
        ValueError: on an unknown method or a budget too small for it.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method == "hutchinson" and samples < 2:
        raise ValueError(f"samples must be at least 2 to give a standard error, got {samples}")
    if method == "hutch++" and samples < 6:
        raise ValueError(f"Hutch++ needs a budget of at least 6 products (3 x 2), got {samples}")
    with measuring(model):
        operator = HessianOperator(Objective(model, criterion, data, exit_index=exit_index))
        obj = operator.objective
        gen = generator(seed)

        def probe() -> torch.Tensor:
            return rademacher(gen, operator.dim, obj.dtype, obj.device)

        sketched = 0.0
        if method == "hutchinson":
            values = [float(v @ operator(v)) for v in (probe() for _ in range(samples))]
        else:
            third = samples // 3
            sketch = torch.stack([operator(probe()) for _ in range(third)], dim=1)  # H S, (P, m/3)
            basis, _ = torch.linalg.qr(sketch)  # Q
            sketched = float(sum(float(q @ operator(q)) for q in basis.T))
            values = []
            for _ in range(third):
                g = probe()
                g = g - basis @ (basis.T @ g)  # (I - QQ^T) g
                h = operator(g)
                values.append(float(g @ (h - basis @ (basis.T @ h))))
    array = np.asarray(values, dtype=np.float64)
    n = len(array)
    stderr = float(array.std(ddof=1)) / math.sqrt(n)
    mean = sketched + float(array.mean())
    half = t_quantile_975(n - 1) * stderr
    return TraceResult(
        mean=mean,
        stderr=stderr,
        samples=tuple(values),
        hvps=operator.count,
        method=method,
        sketched=sketched,
        ci95=(mean - half, mean + half),
    )
