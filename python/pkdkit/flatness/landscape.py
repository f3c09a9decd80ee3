"""Loss landscapes: 1-D and 2-D slices along filter-normalised directions, and interpolation.

Li et al. (2018): a random Gaussian direction is rescaled filter by filter (each slice along
the first, output dimension of a weight tensor) to the norm of the same filter of the weights,
so that slices of networks with different weight scales are comparable; directions of biases
and BatchNorm parameters (tensors with at most one dimension) are zeroed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import torch
from rich.progress import track
from torch import nn

from ._objective import Criterion, Data, Objective
from ._random import gaussian, generator
from ._state import measuring

Direction = Mapping[str, torch.Tensor]


@dataclass(frozen=True)
class Landscape1D:
    """Loss along a line ``L(theta(alpha))``.

    Attributes:
        alphas: positions along the line, float64, shape ``(n,)``.
        losses: mean loss on the subset at each position, float64, shape ``(n,)``.
    """

    alphas: np.ndarray
    losses: np.ndarray


@dataclass(frozen=True)
class Landscape2D:
    """Loss on a plane ``L(theta + alpha * d + beta * e)``.

    Attributes:
        alphas: positions along ``d``, float64, shape ``(n,)``.
        betas: positions along ``e``, float64, shape ``(m,)``.
        losses: mean loss, float64, shape ``(m, n)``: ``losses[j, i]`` is at ``(alphas[i], betas[j])``.
    """

    alphas: np.ndarray
    betas: np.ndarray
    losses: np.ndarray


def filter_normalized_direction(
    model: nn.Module, *, seed: int = 0, ignore_biasbn: bool = True
) -> dict[str, torch.Tensor]:
    """A random direction in parameter space with each filter scaled to the weights' filter norm.

    Args:
        model: the network; every trainable parameter gets a direction.
        seed: seed of the Gaussian draw (the global RNG is not touched).
        ignore_biasbn: zero the direction of tensors with at most one dimension (biases,
            BatchNorm weights); if False they get a copy of the parameter itself, as in Li et al.

    Returns:
        ``{name: tensor}`` shaped like each parameter, in its dtype and device.
    """
    gen = generator(seed)
    direction: dict[str, torch.Tensor] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        weights = param.detach()
        if weights.dim() <= 1:
            direction[name] = torch.zeros_like(weights) if ignore_biasbn else weights.clone()
            continue
        draw = gaussian(gen, weights.numel(), weights.dtype, weights.device).view_as(weights)
        filters, drawn = weights.flatten(1), draw.flatten(1)
        ratio = filters.norm(dim=1) / (drawn.norm(dim=1) + 1e-10)
        direction[name] = (drawn * ratio[:, None]).view_as(weights)
    return direction


def landscape_1d(
    model: nn.Module,
    criterion: Criterion,
    data: Data,
    *,
    direction: Direction | None = None,
    alphas: Iterable[float] | None = None,
    seed: int = 0,
    exit_index: int = -1,
    progress: bool = False,
) -> Landscape1D:
    """The loss along ``theta + alpha * d`` on a fixed data subset, in eval mode.

    Args:
        model: any network; if it returns a list of logits, ``exit_index`` picks one.
        criterion: ``criterion(logits, targets)`` -> scalar mean loss.
        data: the fixed subset: an iterable of ``(inputs, targets)`` batches.
        direction: ``{parameter name: tensor}``; missing names count as zero. Default: a
            :func:`filter_normalized_direction` drawn with ``seed``.
        alphas: positions (default 41 points on ``[-1, 1]``).
        seed: seed of the default direction.
        exit_index: exit to measure for multi-exit networks (-1: the final one).
        progress: show a progress bar.

    Returns:
        A :class:`Landscape1D`.
    """
    grid = _grid(alphas, 41)
    with measuring(model):
        obj = Objective(model, criterion, data, exit_index=exit_index)
        center = obj.get_flat()
        d = _flat_direction(model, obj, direction if direction is not None else _default(model, seed, 0))
        losses = []
        for alpha in track(grid, description="1-D landscape", disable=not progress):
            obj.set_flat(center + float(alpha) * d)
            losses.append(obj.loss())
    return Landscape1D(grid, np.asarray(losses, dtype=np.float64))


def landscape_2d(
    model: nn.Module,
    criterion: Criterion,
    data: Data,
    *,
    directions: tuple[Direction, Direction] | None = None,
    alphas: Iterable[float] | None = None,
    betas: Iterable[float] | None = None,
    seed: int = 0,
    exit_index: int = -1,
    progress: bool = False,
) -> Landscape2D:
    """The loss on the plane ``theta + alpha * d + beta * e`` on a fixed data subset, in eval mode.

    Costs one pass over the subset per grid point (``len(alphas) * len(betas)``).

    Args:
        model: any network; if it returns a list of logits, ``exit_index`` picks one.
        criterion: ``criterion(logits, targets)`` -> scalar mean loss.
        data: the fixed subset: an iterable of ``(inputs, targets)`` batches.
        directions: ``(d, e)`` as ``{parameter name: tensor}``. Default: two independent
            :func:`filter_normalized_direction` draws from ``seed``.
        alphas: positions along ``d`` (default 21 points on ``[-1, 1]``).
        betas: positions along ``e`` (default: the same as ``alphas``).
        seed: seed of the default directions.
        exit_index: exit to measure for multi-exit networks (-1: the final one).
        progress: show a progress bar.

    Returns:
        A :class:`Landscape2D`.
    """
    grid_a = _grid(alphas, 21)
    grid_b = grid_a if betas is None else _grid(betas, 21)
    with measuring(model):
        obj = Objective(model, criterion, data, exit_index=exit_index)
        center = obj.get_flat()
        if directions is None:
            directions = (_default(model, seed, 0), _default(model, seed, 1))
        d, e = (_flat_direction(model, obj, one) for one in directions)
        losses = np.empty((len(grid_b), len(grid_a)))
        points = [(j, i) for j in range(len(grid_b)) for i in range(len(grid_a))]
        for j, i in track(points, description="2-D landscape", disable=not progress):
            obj.set_flat(center + float(grid_a[i]) * d + float(grid_b[j]) * e)
            losses[j, i] = obj.loss()
    return Landscape2D(grid_a, grid_b, losses)


def interpolate(
    model: nn.Module,
    criterion: Criterion,
    data: Data,
    start: Mapping[str, torch.Tensor],
    end: Mapping[str, torch.Tensor],
    *,
    alphas: Iterable[float] | None = None,
    exit_index: int = -1,
    progress: bool = False,
) -> Landscape1D:
    """The loss along the straight line ``(1 - alpha) * start + alpha * end`` between two states.

    Every floating-point entry of the state dicts is interpolated, BatchNorm running statistics
    included (they differ between two trained networks); integer entries (``num_batches_tracked``)
    are taken from ``start``. ``model`` supplies the architecture; its own state is restored.

    Args:
        model: a network whose ``state_dict()`` has the same keys and shapes as both states.
        criterion: ``criterion(logits, targets)`` -> scalar mean loss.
        data: the fixed subset: an iterable of ``(inputs, targets)`` batches.
        start: state dict at ``alpha = 0``.
        end: state dict at ``alpha = 1``.
        alphas: positions (default 41 points on ``[-0.5, 1.5]``).
        exit_index: exit to measure for multi-exit networks (-1: the final one).
        progress: show a progress bar.

    Returns:
        A :class:`Landscape1D`.

    Raises:
        ValueError: if a state misses a key of the model or a shape differs.
    """
    grid = _grid(alphas, 41, -0.5, 1.5)
    with measuring(model):
        targets = model.state_dict(keep_vars=True)
        for label, state in (("start", start), ("end", end)):
            missing = sorted(set(targets) - set(state))
            if missing:
                raise ValueError(f"{label} state lacks {len(missing)} keys of the model, e.g. {missing[:3]}")
            for name, tensor in targets.items():
                if tuple(state[name].shape) != tuple(tensor.shape):
                    raise ValueError(
                        f"{label} state: {name} has shape {tuple(state[name].shape)}, "
                        f"the model's is {tuple(tensor.shape)}"
                    )
        obj = Objective(model, criterion, data, exit_index=exit_index)
        pairs = {
            name: (start[name].to(t.device, t.dtype), end[name].to(t.device, t.dtype)) for name, t in targets.items()
        }
        losses = []
        for alpha in track(grid, description="interpolation", disable=not progress):
            with torch.no_grad():
                for name, tensor in targets.items():
                    a, b = pairs[name]
                    tensor.copy_(a + float(alpha) * (b - a) if tensor.is_floating_point() else a)
            losses.append(obj.loss())
    return Landscape1D(grid, np.asarray(losses, dtype=np.float64))


def _grid(values: Iterable[float] | None, default_size: int, low: float = -1.0, high: float = 1.0) -> np.ndarray:
    grid = np.linspace(low, high, default_size) if values is None else np.asarray(list(values), dtype=np.float64)
    if grid.ndim != 1 or grid.size == 0 or not np.all(np.isfinite(grid)):
        raise ValueError("grid positions must be a non-empty list of finite numbers")
    return grid


def _default(model: nn.Module, seed: int, index: int) -> dict[str, torch.Tensor]:
    # Independent streams per axis: the first axis is the same in 1-D and 2-D for one seed.
    return filter_normalized_direction(model, seed=seed + 7919 * index)


def _flat_direction(model: nn.Module, obj: Objective, direction: Direction) -> torch.Tensor:
    names = [name for name, p in model.named_parameters() if p.requires_grad]
    unknown = sorted(set(direction) - set(names))
    if unknown:
        raise ValueError(f"direction names {unknown[:3]} are not trainable parameters of the model")
    parts = [direction.get(name) for name in names]
    for name, part, param in zip(names, parts, obj.params):
        if part is not None and tuple(part.shape) != tuple(param.shape):
            shapes = f"{tuple(part.shape)}, the parameter's is {tuple(param.shape)}"
            raise ValueError(f"direction for {name} has shape {shapes}")
    return obj.flatten([None if p is None else p.to(obj.device, obj.dtype) for p in parts])
