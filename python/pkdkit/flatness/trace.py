"""Hessian trace: XNysTrace (default), Hutch++ or Hutchinson's estimator, with a confidence interval.

Hutchinson: for ``v`` with independent +-1 entries, ``E[v^T H v] = tr(H)``; the estimate is the
mean of ``n`` such products and its variance ``2 * sum_{i != j} H_ij^2 / n``.

Hutch++ (Meyer, Musco, Musco and Woodruff, SOSA 2021) spends a third of the budget ``m`` on a
sketch: ``Q`` = an orthonormal basis of ``H S`` for ``m/3`` random sign vectors ``S``. The trace
splits into ``tr(Q^T H Q)``, computed exactly with ``m/3`` more products, plus the trace of the
deflated ``(I - QQ^T) H (I - QQ^T)``, estimated by Hutchinson with the last ``m/3`` probes. A
Hessian's trace is dominated by a few large outlier eigenvalues; the sketch captures them, so the
remaining estimate has a far smaller variance: error ``O(1/m)`` instead of ``O(1/sqrt(m))`` for
spectra that decay.

XNysTrace (Epperly, Tropp and Webber, "XTrace: making the most of every sample in stochastic
trace estimation", SIMAX 2024) spends the whole budget on one sketch ``Y = H Omega`` of ``m``
sign vectors and uses every vector twice: as a Hutchinson probe, ``h_i = omega_i^T H omega_i``,
and in the Nystrom approximation ``N_i`` built from the *other* ``m - 1`` columns. ``N_i`` does
not depend on ``omega_i``, so ``c_i = omega_i^T N_i omega_i - tr(N_i)`` has mean zero, and
``mean(h_i - beta c_i)`` is unbiased for any ``beta``: ``beta = 1`` is the paper's estimator,
``beta = 0`` plain Hutchinson. Two changes make it safe on Hessians, which are indefinite (the
paper assumes a positive semi-definite matrix, where the Nystrom core can be inverted as it is):
the core's inverse keeps only its eigenvalues above 1 % of the largest (the outliers that carry a
Hessian's trace; a plain pseudo-inverse blows up on the mixed-sign bulk), and ``beta`` is fitted
to the samples by least squares (a control variate), so a sketch that explains little costs next
to nothing and the estimate falls back towards Hutchinson with all ``m`` probes. No product is
spent beyond the ``m`` of the sketch (Hutch++ spends a third of its budget re-applying ``H`` to its
basis and only a third on probes); everything else comes from the ``m x m`` Gram matrices
``Omega^T Y`` and ``Y^T Y``. Fitting ``beta`` on the same samples adds a bias of order ``1/m``,
far below the noise at the budgets used here (``tests/test_flatness.py`` measures it).

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

METHODS = ("xnystrace", "hutch++", "hutchinson")


@dataclass(frozen=True)
class TraceResult:
    """An estimate of the Hessian trace with its uncertainty.

    Attributes:
        mean: the estimate (for Hutch++: ``sketched + mean(samples)``).
        stderr: the standard error of the random part, ``std(samples, ddof=1) / sqrt(n)``.
        samples: the Hutchinson probe values ``v^T H v`` (Hutch++: of the deflated Hessian;
            XNysTrace: the leave-one-out estimates ``t_i``).
        hvps: Hessian-vector products used (each a pass over the whole subset).
        method: ``"xnystrace"``, ``"hutch++"`` or ``"hutchinson"``.
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
    method: str = "xnystrace",
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
            at least 6; XNysTrace and Hutchinson: at least 2).
        method: ``"xnystrace"`` (default), ``"hutch++"`` or ``"hutchinson"`` (see the module
            docstring).
        seed: seed of the probes (the global RNG is not touched).
        exit_index: exit to measure for multi-exit networks (-1: the final one).

    Returns:
        A :class:`TraceResult` with the estimate, its standard error and 95 % interval.

    Raises:
        ValueError: on an unknown method or a budget too small for it.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method in ("hutchinson", "xnystrace") and samples < 2:
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
        elif method == "xnystrace":
            omega = torch.stack([probe() for _ in range(samples)], dim=1)
            sketch = torch.stack([operator(w) for w in omega.T], dim=1)  # Y = H Omega, (P, m)
            values = leave_one_out_nystrom(omega, sketch)
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


def leave_one_out_nystrom(omega: torch.Tensor, sketch: torch.Tensor, keep_above: float = 1e-2) -> list[float]:
    """XNysTrace-style samples from the test vectors ``omega`` ``(P, m)`` and ``sketch = H omega``.

    Sample ``i`` is ``h_i - beta * c_i`` with ``h_i = omega_i^T H omega_i`` (Hutchinson's sample)
    and ``c_i = omega_i^T N_i omega_i - tr(N_i)``, where ``N_i`` is the Nystrom approximation
    from every column but ``i``. ``N_i`` does not depend on ``omega_i``, so ``c_i`` has mean zero
    and every ``beta`` keeps the estimate unbiased: ``beta = 1`` is Epperly, Tropp and Webber's
    XNysTrace, ``beta = 0`` is Hutchinson. ``beta`` is fitted to the samples (least squares of
    ``h`` on ``c``), so a sketch that explains little (a flat or indefinite spectrum) costs
    next to nothing.

    The Nystrom core ``G = Omega_-i^T H Omega_-i`` is indefinite when ``H`` is; its inverse keeps
    only eigenvalues above ``keep_above`` times the largest (the outliers a Hessian's trace is
    made of), where a plain pseudo-inverse would blow up on the mixed-sign bulk. All of it comes
    from the ``m x m`` Gram matrices ``Omega^T Y`` and ``Y^T Y``, formed in float64.
    """
    w, y = omega.double(), sketch.double()
    gram = w.T @ y
    gram = 0.5 * (gram + gram.T)  # symmetric in exact arithmetic (H is)
    outer = y.T @ y
    m = gram.shape[0]
    hutchinson, control = np.empty(m), np.empty(m)
    for i in range(m):
        rest = [j for j in range(m) if j != i]
        vals, vecs = torch.linalg.eigh(gram[rest][:, rest])
        keep = vals > keep_above * vals.abs().max()
        inverse = (vecs[:, keep] / vals[keep]) @ vecs[:, keep].T
        cross = gram[i, rest]
        hutchinson[i] = float(gram[i, i])
        # omega_i^T N_i omega_i - tr(N_i); tr(N_i) = tr(G^+ K), both symmetric
        control[i] = float(cross @ inverse @ cross) - float((inverse * outer[rest][:, rest]).sum())
    spread = float(np.var(control, ddof=1)) if m > 1 else 0.0
    beta = float(np.cov(hutchinson, control)[0, 1]) / spread if spread > 0 else 0.0
    return list(hutchinson - beta * control)
