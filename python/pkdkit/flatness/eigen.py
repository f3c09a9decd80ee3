"""Largest Hessian eigenvalues: block Lanczos with full reorthogonalisation, or power iteration.

Lanczos stops on an error bound of the Ritz values rather than on the bare residual: for a Ritz
pair ``(theta, y)`` with residual ``r = ||H y - theta y||`` and gap ``delta`` to the nearest other
Ritz value, an eigenvalue lies within ``r`` of ``theta``, and within ``r^2 / delta`` once
``r < delta`` (the Kato-Temple bound, with the Ritz gap standing in for the spectral gap). The
eigenvalue converges quadratically faster than the vector, so the squared bound stops many
products earlier at the same accuracy. An optional *sketch* warm start first runs Lanczos on the
Hessian of a fraction of the subset (a product there costs only that fraction of a pass) and
starts the full-subset Lanczos from its Ritz vectors; costs are always counted in passes over
the whole subset.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import nn

from ._objective import Criterion, Data, Objective
from ._random import gaussian, generator
from ._state import measuring
from .hvp import HessianOperator

METHODS = ("lanczos", "power")


@dataclass(frozen=True)
class EigenResult:
    """Largest eigenvalues of the Hessian of the loss on the subset.

    Attributes:
        eigenvalues: the ``k`` largest eigenvalues, descending (Lanczos: largest algebraic;
            power iteration: largest in magnitude).
        residuals: ``||H y - lambda y||`` of each eigenpair (``y`` of unit norm); an
            eigenvalue of ``H`` lies within this distance of each reported value.
        hvps: cost in Hessian-vector products over the whole subset (a sketch product over a
            fraction of the subset counts as that fraction).
        converged: whether every error bound reached ``tol * |lambda|`` (or the Krylov space
            was exhausted, which makes the result exact).
        method: ``"lanczos"`` or ``"power"``.
        history: ``(hvps so far, current estimate of the top eigenvalue)`` after each step.
        eigenvectors: unit eigenvectors as rows, shape ``(k, P)`` in the parameters' dtype and
            device, when asked for; otherwise ``None``.
        error_bounds: an upper bound on each eigenvalue's distance to an eigenvalue of ``H``:
            ``min(r, r^2 / gap)`` for Lanczos (gap to the nearest other Ritz value, the squared
            form only once ``r < gap``), ``r`` for power iteration.
    """

    eigenvalues: tuple[float, ...]
    residuals: tuple[float, ...]
    hvps: float
    converged: bool
    method: str
    history: tuple[tuple[float, float], ...]
    eigenvectors: torch.Tensor | None = field(default=None, compare=False)
    error_bounds: tuple[float, ...] = ()

    def __repr__(self) -> str:
        values = ", ".join(f"{v:.6g}" for v in self.eigenvalues)
        return f"EigenResult(eigenvalues=[{values}], hvps={self.hvps:g}, converged={self.converged})"


def top_eigenvalues(
    model: nn.Module,
    criterion: Criterion,
    data: Data,
    k: int = 1,
    *,
    method: str = "lanczos",
    tol: float = 1e-3,
    max_iter: int = 100,
    block_size: int | None = None,
    seed: int = 0,
    exit_index: int = -1,
    return_eigenvectors: bool = False,
    sketch: float = 0.0,
) -> EigenResult:
    """The ``k`` largest eigenvalues of the Hessian of the mean loss on a fixed data subset.

    The model is measured in eval mode; its parameters and modes are restored afterwards.

    Lanczos (the default) builds a Krylov basis ``v, Hv, H^2 v, ...`` in blocks of
    ``block_size`` vectors, reorthogonalises every new vector against the whole basis (twice,
    so no spurious copies of converged eigenvalues appear) and takes the Ritz values of the
    projected block-tridiagonal matrix. A block of size ``b`` finds eigenvalues of
    multiplicity up to ``b``. It stops when every wanted Ritz value's error bound
    (module docstring) is at most ``tol * |lambda|``. Memory: the basis holds up to
    ``max_iter * block_size`` vectors of ``P`` numbers on the model's device.

    Power iteration (the check) iterates ``v <- Hv / ||Hv||``, orthogonalising against the
    eigenvectors already found (deflation), with the same residual test.

    Args:
        model: any network; if it returns a list of logits, ``exit_index`` picks one.
        criterion: ``criterion(logits, targets)`` -> scalar mean loss.
        data: the fixed subset: an iterable of ``(inputs, targets)`` batches.
        k: how many eigenvalues.
        method: ``"lanczos"`` or ``"power"``.
        tol: relative residual at which an eigenpair counts as converged.
        max_iter: Lanczos: most block steps; power: most iterations per eigenvalue.
        block_size: Lanczos block size (default ``k``).
        seed: seed of the random start vectors (the global RNG is not touched).
        exit_index: exit to measure for multi-exit networks (-1: the final one).
        return_eigenvectors: also return the eigenvectors (shape ``(k, P)``).
        sketch: Lanczos only: warm-start from the leading batches holding at most this fraction
            of the samples (at least one batch; 0 = off, or when the subset is one batch). The
            sketch runs to a relative bound of ``max(tol, 1e-2)``.

    Returns:
        An :class:`EigenResult`; ``result.eigenvalues`` are Python floats.

    Raises:
        ValueError: on an unknown method or a ``k``/``tol``/``max_iter`` out of range.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if not tol > 0:
        raise ValueError(f"tol must be positive, got {tol}")
    if max_iter < 1:
        raise ValueError(f"max_iter must be at least 1, got {max_iter}")
    block = k if block_size is None else block_size
    if block < 1:
        raise ValueError(f"block_size must be at least 1, got {block}")
    if not 0.0 <= sketch < 1.0:
        raise ValueError(f"sketch must be a fraction in [0, 1), got {sketch}")
    with measuring(model):
        objective = Objective(model, criterion, data, exit_index=exit_index)
        operator = HessianOperator(objective)
        if k > operator.dim:
            raise ValueError(f"k={k} exceeds the number of trainable parameters ({operator.dim})")
        if method == "power":
            return _power(operator, k, tol, max_iter, seed, return_eigenvectors)
        chosen = _sketch_batches(objective.weights, sketch)
        if not chosen:
            return _lanczos(operator, k, block, tol, max_iter, seed, return_eigenvectors)
        small = HessianOperator(objective, chosen)
        warm = _lanczos(small, k, block, max(tol, 1e-2), max_iter, seed, True)
        assert warm.eigenvectors is not None
        result = _lanczos(operator, k, block, tol, max_iter, seed, return_eigenvectors, start=warm.eigenvectors)
        return replace(
            result,
            hvps=small.passes + operator.passes,
            history=warm.history + tuple((small.passes + h, v) for h, v in result.history),
        )


def _sketch_batches(weights: list[float], fraction: float) -> list[int]:
    """The leading batches holding at most ``fraction`` of the samples (at least one), or none
    when the sketch is off or would be the whole subset."""
    if fraction <= 0 or len(weights) < 2:
        return []
    chosen, total = [0], weights[0]
    for i in range(1, len(weights)):
        if total + weights[i] > fraction + 1e-12:
            break
        chosen.append(i)
        total += weights[i]
    return chosen if len(chosen) < len(weights) else []


def _breakdown_threshold(dtype: torch.dtype) -> float:
    return 1000.0 * torch.finfo(dtype).eps


class _Rows:
    """Orthonormal basis rows in a buffer that doubles when full, so appending a row does not
    copy the whole basis every step (for large networks the basis is gigabytes)."""

    def __init__(self, dim: int, limit: int, dtype: torch.dtype, device: torch.device) -> None:
        self.limit = limit
        self.data = torch.empty(min(8, limit), dim, dtype=dtype, device=device)
        self.count = 0

    @property
    def matrix(self) -> torch.Tensor:
        """The rows so far, shape ``(count, P)`` (a view)."""
        return self.data[: self.count]

    def append(self, row: torch.Tensor) -> None:
        if self.count == self.data.shape[0]:
            grown = self.data.new_empty(min(2 * self.count, self.limit), self.data.shape[1])
            grown[: self.count] = self.data[: self.count]
            self.data = grown
        self.data[self.count] = row
        self.count += 1


def _orthogonalise(vector: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """Remove the components along the rows of ``basis`` (twice: 'twice is enough')."""
    if basis.shape[0] == 0:
        return vector
    for _ in range(2):
        vector = vector - basis.T @ (basis @ vector)
    return vector


def _ritz_bounds(values: np.ndarray, wanted: np.ndarray, residuals: np.ndarray) -> np.ndarray:
    """``min(r, r^2 / gap)`` per wanted Ritz value; the squared form only once ``r < gap``."""
    bounds = residuals.copy()
    for n, i in enumerate(wanted):
        others = np.delete(values, i)
        if others.size:
            gap = float(np.min(np.abs(others - values[i])))
            if residuals[n] < gap:
                bounds[n] = min(residuals[n], residuals[n] ** 2 / gap)
    return bounds


def _lanczos(
    op: HessianOperator,
    k: int,
    block: int,
    tol: float,
    max_iter: int,
    seed: int,
    want_vectors: bool,
    start: torch.Tensor | None = None,
) -> EigenResult:
    obj = op.objective
    gen = generator(seed)
    dim = op.dim
    tiny = _breakdown_threshold(obj.dtype)
    rows = _Rows(dim, min(dim, (max_iter + 1) * block), obj.dtype, obj.device)
    # Projected Hessian basis^T H basis, filled a block of columns per step (and by symmetry).
    projected = np.zeros((0, 0))

    def extend(columns: list[torch.Tensor], scale: float) -> tuple[torch.Tensor, np.ndarray]:
        """Gram-Schmidt ``columns`` against the basis and each other, append the new rows.

        A column already in the span (an invariant subspace was found) is replaced by a random
        vector orthogonal to the basis, so the iteration goes on into the rest of the space,
        where further copies of a repeated eigenvalue live. Returns the new rows and the
        coefficients ``C`` with ``(I - P_old) columns = new_rows^T C``.
        """
        coeffs: list[list[float]] = []
        for i, column in enumerate(columns):
            for j, row in enumerate(rows.matrix[rows.count - len(coeffs) :]):
                coeffs[j][i] = float(row @ column)
            column = _orthogonalise(column, rows.matrix)
            norm = float(column.norm())
            if rows.count >= rows.limit:
                continue  # the basis spans the whole space (or its budget): nothing new to add
            if norm > tiny * max(scale, 1e-300):
                row, weight = column / norm, norm
            else:
                fresh = _orthogonalise(gaussian(gen, dim, obj.dtype, obj.device), rows.matrix)
                row, weight = fresh / fresh.norm(), 0.0
            coeffs.append([0.0] * len(columns))
            coeffs[-1][i] = weight
            rows.append(row)
        count = len(coeffs)
        return rows.matrix[rows.count - count :], np.array(coeffs).reshape(count, len(columns))

    # The start block: the given vectors (a warm start), topped up with random ones to the block size.
    first_block = [] if start is None else list(start[:block])
    first_block += [gaussian(gen, dim, obj.dtype, obj.device) for _ in range(min(block, dim) - len(first_block))]
    current, _ = extend(first_block, 1.0)
    history: list[tuple[int, float]] = []
    done = exhausted = False
    for _ in range(max_iter):
        first, size = rows.count - current.shape[0], rows.count
        products = torch.stack([op(q) for q in current])
        columns = (rows.matrix @ products.T).double().cpu().numpy()  # (size, b)
        grown = np.zeros((size, size))
        grown[: projected.shape[0], : projected.shape[0]] = projected
        grown[:, first:] = columns
        grown[first:, :] = columns.T
        grown[first:, first:] = 0.5 * (columns[first:] + columns[first:].T)
        projected = grown
        values, vectors = np.linalg.eigh(projected)
        wanted = np.argsort(values)[::-1][: min(k, size)]
        scale = max(float(p.norm()) for p in products)
        current, coupling = extend(list(products), scale)
        exhausted = current.shape[0] == 0 and rows.count >= dim  # T is all of H: exact
        # The part of H y outside the basis comes from the newest block only.
        residuals = np.linalg.norm(coupling @ vectors[first:size, wanted], axis=0)
        history.append((op.passes, float(values[wanted[0]])))
        bounds = _ritz_bounds(values, wanted, residuals)
        done = len(wanted) == k and bool(np.all(bounds <= tol * np.maximum(np.abs(values[wanted]), 1e-300)))
        if done or current.shape[0] == 0:
            break
    eigvecs = None
    if want_vectors:
        coords = torch.from_numpy(vectors[:, wanted].T.copy()).to(obj.device, obj.dtype)
        eigvecs = coords @ rows.matrix[: projected.shape[0]]
    return EigenResult(
        eigenvalues=tuple(float(values[i]) for i in wanted),
        residuals=tuple(float(r) for r in residuals),
        hvps=op.passes,
        converged=bool(done or exhausted),
        method="lanczos",
        history=tuple(history),
        eigenvectors=eigvecs,
        error_bounds=tuple(float(b) for b in bounds),
    )


def _power(op: HessianOperator, k: int, tol: float, max_iter: int, seed: int, want_vectors: bool) -> EigenResult:
    obj = op.objective
    gen = generator(seed)
    found = torch.empty(0, op.dim, dtype=obj.dtype, device=obj.device)
    values: list[float] = []
    residuals: list[float] = []
    history: list[tuple[int, float]] = []
    converged = True
    for _ in range(k):
        v = _orthogonalise(gaussian(gen, op.dim, obj.dtype, obj.device), found)
        v = v / v.norm()
        value, residual, ok = 0.0, float("inf"), False
        for _ in range(max_iter):
            hv = _orthogonalise(op(v), found)  # deflation: stay in the complement of found vectors
            value = float(v @ hv)
            residual = float((hv - value * v).norm())
            if not values:
                history.append((op.passes, value))
            norm = hv.norm()
            if residual <= tol * max(abs(value), 1e-300) or float(norm) == 0.0:
                ok = True
                break
            v = hv / norm
        converged = converged and ok
        values.append(value)
        residuals.append(residual)
        found = torch.cat([found, v[None]])
    return EigenResult(
        eigenvalues=tuple(values),
        residuals=tuple(residuals),
        hvps=op.passes,
        converged=converged,
        method="power",
        history=tuple(history),
        eigenvectors=found if want_vectors else None,
        error_bounds=tuple(residuals),
    )
