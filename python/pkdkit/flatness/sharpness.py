"""Sharpness: Keskar's epsilon-sharpness and (adaptive) worst-case / average-case sharpness.

All three perturb the trainable parameters ``w`` by ``delta = c * u`` (elementwise) with ``u``
in a ball of radius ``rho`` and a per-parameter scale ``c``:

* Keskar et al. (2017): ``c = |w| + 1``, l-infinity ball of radius ``epsilon``, reported as
  ``100 * (max L(w + delta) - L(w)) / (1 + L(w))``.
* Andriushchenko et al. (2023), worst case: ``max L(w + delta) - L(w)`` with ``c = |w|``
  (adaptive, invariant to rescaling of layers) or ``c = 1``.
* Andriushchenko et al. (2023), average case: ``E[L(w + delta)] - L(w)`` for ``u ~ N(0, rho^2 I)``
  (l2) or uniform on ``[-rho, rho]`` (linf).

The maximum is found by projected gradient ascent in ``u``; it is a lower bound of the true
maximum (a local search), as in the papers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from ._objective import Criterion, Data, Objective, as_batches
from ._random import gaussian, generator, uniform
from ._state import measuring

NORMS = ("l2", "linf")
# (sharpness, base loss, perturbed loss, standard error) of one subset
Measurement = tuple[float, float, float, float]


@dataclass(frozen=True)
class SharpnessResult:
    """A sharpness measurement.

    Attributes:
        value: the sharpness (Keskar: in percent of ``1 + L(w)``; others: a loss difference).
        base_loss: ``L(w)``, the mean loss at the unperturbed parameters.
        perturbed_loss: the largest loss found (worst case, Keskar) or the mean perturbed loss
            (average case); with ``per_batch`` the mean over batches.
        stderr: standard error of ``value`` over the random samples (average case), else 0.
        evaluations: passes over the subset (forward, or forward and backward).
    """

    value: float
    base_loss: float
    perturbed_loss: float
    stderr: float
    evaluations: int

    def __repr__(self) -> str:
        return (
            f"SharpnessResult(value={self.value:.6g}, base_loss={self.base_loss:.6g}, "
            f"perturbed_loss={self.perturbed_loss:.6g})"
        )


def keskar_sharpness(
    model: nn.Module,
    criterion: Criterion,
    data: Data,
    *,
    epsilon: float = 1e-3,
    steps: int = 10,
    seed: int = 0,
    exit_index: int = -1,
) -> SharpnessResult:
    """Keskar et al.'s epsilon-sharpness on a fixed data subset (full parameter space, A = I).

    ``phi = 100 * (max_{|delta_i| <= epsilon (|w_i| + 1)} L(w + delta) - L(w)) / (1 + L(w))``;
    the maximum over the box is approached by ``steps`` projected sign-gradient ascent steps
    (the paper uses about 10 L-BFGS-B iterations). Eval mode; the model is restored afterwards.

    Args:
        model: any network; if it returns a list of logits, ``exit_index`` picks one.
        criterion: ``criterion(logits, targets)`` -> scalar mean loss.
        data: the fixed subset: an iterable of ``(inputs, targets)`` batches.
        epsilon: box size relative to ``|w| + 1`` (the paper uses 1e-3 and 5e-4).
        steps: gradient evaluations of the ascent.
        seed: seed of the random start inside the box.
        exit_index: exit to measure for multi-exit networks (-1: the final one).

    Returns:
        A :class:`SharpnessResult`; ``value`` is in percent.
    """
    _check_positive(epsilon=epsilon, steps=steps)
    with measuring(model):
        obj = Objective(model, criterion, data, exit_index=exit_index)
        w0 = obj.get_flat()
        base, worst = _worst(obj, w0, w0.abs() + 1, epsilon, "linf", steps, generator(seed))
    value = 100.0 * (worst - base) / (1.0 + base)
    return SharpnessResult(value, base, worst, 0.0, obj.passes)


def worst_case_sharpness(
    model: nn.Module,
    criterion: Criterion,
    data: Data,
    *,
    rho: float,
    norm: str = "l2",
    adaptive: bool = True,
    steps: int = 20,
    per_batch: bool = False,
    seed: int = 0,
    exit_index: int = -1,
) -> SharpnessResult:
    """Worst-case (adaptive) sharpness ``max_{||delta / c||_p <= rho} L(w + delta) - L(w)``.

    ``c = |w|`` when ``adaptive`` (Andriushchenko et al. 2023; zero weights stay unperturbed),
    else ``c = 1`` (SAM's sharpness). The maximum is approached by ``steps`` steps of projected
    gradient ascent (normalised gradient for l2, sign for linf) from a random start, with the
    step halved and the best point kept whenever a step does not increase the loss.

    Args:
        model: any network; if it returns a list of logits, ``exit_index`` picks one.
        criterion: ``criterion(logits, targets)`` -> scalar mean loss.
        data: the fixed subset: an iterable of ``(inputs, targets)`` batches.
        rho: radius of the perturbation ball.
        norm: ``"l2"`` or ``"linf"``.
        adaptive: scale the ball by ``|w|``.
        steps: gradient evaluations of the ascent (per batch with ``per_batch``).
        per_batch: maximise on each batch separately and average (m-sharpness, m = batch size);
            otherwise maximise the loss of the whole subset.
        seed: seed of the random start.
        exit_index: exit to measure for multi-exit networks (-1: the final one).

    Returns:
        A :class:`SharpnessResult`.
    """
    _check_norm(norm)
    _check_positive(rho=rho, steps=steps)

    def measure(obj: Objective, w0: torch.Tensor, gen: torch.Generator) -> Measurement:
        scale = w0.abs() if adaptive else torch.ones_like(w0)
        base, worst = _worst(obj, w0, scale, rho, norm, steps, gen)
        return worst - base, base, worst, 0.0

    return _over_batches(model, criterion, data, per_batch, seed, exit_index, measure)


def average_case_sharpness(
    model: nn.Module,
    criterion: Criterion,
    data: Data,
    *,
    rho: float,
    norm: str = "l2",
    adaptive: bool = True,
    samples: int = 100,
    per_batch: bool = False,
    seed: int = 0,
    exit_index: int = -1,
) -> SharpnessResult:
    """Average-case (adaptive) sharpness ``E[L(w + c * u)] - L(w)``.

    ``u ~ N(0, rho^2 I)`` for ``norm="l2"`` (so ``delta ~ N(0, rho^2 diag(c^2))``) or uniform
    on ``[-rho, rho]`` per coordinate for ``"linf"``; ``c = |w|`` when ``adaptive``, else 1.
    Note that an l2 ``rho`` here is a per-coordinate standard deviation, not a ball radius.

    Args:
        model: any network; if it returns a list of logits, ``exit_index`` picks one.
        criterion: ``criterion(logits, targets)`` -> scalar mean loss.
        data: the fixed subset: an iterable of ``(inputs, targets)`` batches.
        rho: noise scale.
        norm: ``"l2"`` (Gaussian) or ``"linf"`` (uniform).
        adaptive: scale the noise by ``|w|``.
        samples: random perturbations averaged (per batch with ``per_batch``).
        per_batch: average per-batch sharpness (m-sharpness) instead of the whole subset's.
        seed: seed of the perturbations.
        exit_index: exit to measure for multi-exit networks (-1: the final one).

    Returns:
        A :class:`SharpnessResult` whose ``stderr`` is the standard error over the samples.
    """
    _check_norm(norm)
    _check_positive(rho=rho, samples=samples)

    def measure(obj: Objective, w0: torch.Tensor, gen: torch.Generator) -> Measurement:
        scale = w0.abs() if adaptive else torch.ones_like(w0)
        base = obj.loss()
        draw = gaussian if norm == "l2" else uniform
        losses = []
        for _ in range(samples):
            obj.set_flat(w0 + scale * (rho * draw(gen, obj.dim, obj.dtype, obj.device)))
            losses.append(obj.loss())
        obj.set_flat(w0)
        array = np.asarray(losses) - base
        stderr = float(array.std(ddof=1)) / math.sqrt(samples) if samples > 1 else 0.0
        return float(array.mean()), base, float(np.mean(losses)), stderr

    return _over_batches(model, criterion, data, per_batch, seed, exit_index, measure)


def _over_batches(
    model: nn.Module,
    criterion: Criterion,
    data: Data,
    per_batch: bool,
    seed: int,
    exit_index: int,
    measure: Callable[[Objective, torch.Tensor, torch.Generator], Measurement],
) -> SharpnessResult:
    """Run ``measure`` on the whole subset, or on each batch and average by batch size."""
    gen = generator(seed)
    with measuring(model):
        whole = Objective(model, criterion, data, exit_index=exit_index)
        w0 = whole.get_flat()
        parts = (
            [whole]
            if not per_batch
            else [Objective(model, criterion, [batch], exit_index=exit_index) for batch in as_batches(whole.batches)]
        )
        weights = np.asarray([len(p.batches[0][1]) if per_batch else 1 for p in parts], dtype=np.float64)
        weights /= weights.sum()
        rows = np.asarray([measure(part, w0, gen) for part in parts])
    value, base, perturbed, stderr = (weights @ rows).tolist()
    if per_batch:  # independent per-batch errors combine in quadrature
        stderr = float(np.sqrt(weights**2 @ rows[:, 3] ** 2))
    return SharpnessResult(value, base, perturbed, stderr, sum(p.passes for p in parts))


def _worst(
    obj: Objective,
    w0: torch.Tensor,
    scale: torch.Tensor,
    rho: float,
    norm: str,
    steps: int,
    gen: torch.Generator,
) -> tuple[float, float]:
    """``(L(w0), max L(w0 + scale * u))`` over ``||u||_norm <= rho`` by projected ascent."""
    base = obj.loss()
    if norm == "l2":
        u = gaussian(gen, obj.dim, obj.dtype, obj.device)
        u = u * (rho / max(float(u.norm()), 1e-300))
    else:
        u = rho * uniform(gen, obj.dim, obj.dtype, obj.device)
    step = 2.0 * rho
    best, best_u, best_grad = -math.inf, u, torch.zeros_like(u)
    for _ in range(steps):
        obj.set_flat(w0 + scale * u)
        loss, grad = obj.loss_and_grad()
        if loss > best:
            best, best_u, best_grad = loss, u, scale * grad
        else:  # overshoot: go back to the best point with a shorter step
            step *= 0.5
        u = _project(best_u + step * _ascent_direction(best_grad, norm), rho, norm)
    obj.set_flat(w0 + scale * u)
    best = max(best, obj.loss(), base)  # delta = 0 is feasible: never below the base loss
    obj.set_flat(w0)
    return base, best


def _ascent_direction(grad: torch.Tensor, norm: str) -> torch.Tensor:
    if norm == "linf":
        return grad.sign()
    length = float(grad.norm())
    return grad / length if length > 0 else grad


def _project(u: torch.Tensor, rho: float, norm: str) -> torch.Tensor:
    if norm == "linf":
        return u.clamp(-rho, rho)
    length = float(u.norm())
    return u * (rho / length) if length > rho else u


def _check_norm(norm: str) -> None:
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if not value > 0:
            raise ValueError(f"{name} must be positive, got {value}")
