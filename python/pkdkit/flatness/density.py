"""Eigenvalue density of the Hessian by stochastic Lanczos quadrature (SLQ).

For a unit probe vector ``v``, ``m`` Lanczos steps on ``H`` from ``v`` give a tridiagonal ``T``
whose eigenvalues ``theta_j`` (nodes) and squared first eigenvector components ``w_j`` (weights,
summing to 1) form a Gauss quadrature of the spectral measure of ``H`` seen from ``v``:
``sum_j w_j f(theta_j) = v^T f(H) v``, exact for every polynomial ``f`` of degree up to ``2m - 1``.
For a random ``v`` (Gaussian, normalised) ``E[v^T f(H) v] = tr f(H) / P``, so averaging over probes
estimates the normalised density ``phi(t) = (1/P) sum_i delta(t - lambda_i)``. Each delta is
broadened into a Gaussian of width ``sigma``:

    phi_sigma(t) = mean_probes sum_j w_j N(t; theta_j, sigma^2)

which integrates to 1. Lanczos uses full reorthogonalisation, so no spurious copies of converged
eigenvalues appear (plain three-term Lanczos would produce "ghost" nodes). Cost: ``steps`` products
per probe (fewer if the Krylov space is exhausted), each a pass over the whole subset.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ._objective import Criterion, Data, Objective
from ._random import gaussian, generator
from ._state import measuring
from .hvp import HessianOperator

__all__ = ["DensityResult", "spectral_density", "lanczos_quadrature", "broadened_density"]


@dataclass(frozen=True)
class DensityResult:
    """The SLQ estimate of the Hessian's eigenvalue density.

    Attributes:
        grid: (G,) eigenvalue axis.
        density: (G,) the broadened density on ``grid`` (integrates to ~1).
        nodes: per probe, the quadrature nodes (Ritz values).
        weights: per probe, the quadrature weights (each set sums to 1).
        sigma: the Gaussian broadening.
        hvps: Hessian-vector products used.
    """

    grid: np.ndarray
    density: np.ndarray
    nodes: tuple[np.ndarray, ...]
    weights: tuple[np.ndarray, ...]
    sigma: float
    hvps: int

    def trace_estimate(self, dim: int) -> float:
        """``P * mean_probes sum_j w_j theta_j``: SLQ's own (Hutchinson-like) estimate of ``tr(H)``."""
        return float(dim * np.mean([np.dot(w, t) for t, w in zip(self.nodes, self.weights)]))

    def __repr__(self) -> str:
        return f"DensityResult(probes={len(self.nodes)}, sigma={self.sigma:.3g}, hvps={self.hvps})"


def lanczos_quadrature(
    matvec: Callable[[torch.Tensor], torch.Tensor], start: torch.Tensor, steps: int
) -> tuple[np.ndarray, np.ndarray]:
    """Gauss quadrature nodes and weights of ``matvec``'s spectral measure seen from ``start``.

    Args:
        matvec: ``v -> H v`` for a symmetric ``H``.
        start: the probe (any non-zero vector; it is normalised).
        steps: Lanczos steps ``m`` (stops early when the Krylov space is exhausted).

    Returns:
        ``(nodes, weights)``: eigenvalues of the ``m x m`` tridiagonal matrix and the squared first
        components of its eigenvectors; ``sum_j weights_j nodes_j^p = v^T H^p v`` for ``p < 2m``.
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    q = start / start.norm()
    basis = [q]
    alphas: list[float] = []
    betas: list[float] = []
    tiny = 1000.0 * torch.finfo(start.dtype).eps
    for _ in range(steps):
        w = matvec(basis[-1])
        alpha = float(basis[-1] @ w)
        alphas.append(alpha)
        stacked = torch.stack(basis)
        for _ in range(2):  # full reorthogonalisation, twice
            w = w - stacked.T @ (stacked @ w)
        beta = float(w.norm())
        if len(alphas) == steps or beta <= tiny * max(abs(alpha), 1.0):
            break
        betas.append(beta)
        basis.append(w / beta)
    t = np.diag(alphas) + np.diag(betas, 1) + np.diag(betas, -1)
    nodes, vectors = np.linalg.eigh(t)
    return nodes, vectors[0] ** 2


def broadened_density(
    nodes: list[np.ndarray], weights: list[np.ndarray], grid: np.ndarray, sigma: float
) -> np.ndarray:
    """``mean_probes sum_j w_j N(grid; theta_j, sigma^2)`` (see the module docstring)."""
    total = np.zeros_like(grid, dtype=np.float64)
    for theta, w in zip(nodes, weights):
        gauss = np.exp(-0.5 * ((grid[:, None] - theta[None, :]) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
        total += gauss @ w
    return total / len(nodes)


def spectral_density(
    model: nn.Module,
    criterion: Criterion,
    data: Data,
    *,
    steps: int = 100,
    probes: int = 1,
    sigma: float | None = None,
    grid_points: int = 1000,
    seed: int = 0,
    exit_index: int = -1,
) -> DensityResult:
    """The Hessian's eigenvalue density on a fixed data subset, by stochastic Lanczos quadrature.

    The model is measured in eval mode and restored afterwards.

    Args:
        model: any network; if it returns a list of logits, ``exit_index`` picks one.
        criterion: ``criterion(logits, targets)`` -> scalar mean loss.
        data: the fixed subset: an iterable of ``(inputs, targets)`` batches.
        steps: Lanczos steps per probe (PyHessian's ``iter``).
        probes: random probe vectors (PyHessian's ``n_v``).
        sigma: Gaussian broadening; default 1 % of the span of all nodes.
        grid_points: points of the eigenvalue axis, spanning the nodes plus 5 sigma each side.
        seed: seed of the probes (the global RNG is not touched).
        exit_index: exit to measure for multi-exit networks (-1: the final one).

    Returns:
        A :class:`DensityResult`.
    """
    if probes < 1:
        raise ValueError(f"probes must be at least 1, got {probes}")
    if sigma is not None and not sigma > 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    with measuring(model):
        operator = HessianOperator(Objective(model, criterion, data, exit_index=exit_index))
        obj = operator.objective
        gen = generator(seed)
        nodes, weights = [], []
        for _ in range(probes):
            start = gaussian(gen, operator.dim, obj.dtype, obj.device)
            theta, w = lanczos_quadrature(operator, start, min(steps, operator.dim))
            nodes.append(theta)
            weights.append(w)
    low = min(float(t.min()) for t in nodes)
    high = max(float(t.max()) for t in nodes)
    width = sigma if sigma is not None else max(0.01 * (high - low), 1e-12 * max(abs(high), 1.0))
    grid = np.linspace(low - 5 * width, high + 5 * width, grid_points)
    return DensityResult(
        grid=grid,
        density=broadened_density(nodes, weights, grid, width),
        nodes=tuple(nodes),
        weights=tuple(weights),
        sigma=width,
        hvps=operator.count,
    )
