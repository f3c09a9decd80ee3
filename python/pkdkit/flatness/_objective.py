"""The loss of a model on a fixed data subset, seen as a function of one flat parameter vector."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Callable, Union

import torch
from torch import nn

Criterion = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Batch = tuple[Any, torch.Tensor]
Data = Union[Iterable[Sequence[Any]], tuple[torch.Tensor, torch.Tensor]]


def as_batches(data: Data) -> list[Batch]:
    """Read the data subset once, as a list of ``(inputs, targets)`` batches.

    Args:
        data: an iterable of batches (a ``DataLoader`` or a list); each batch is a sequence whose
            first item is the model input and second the targets (further items are ignored).
            A single ``(inputs, targets)`` pair of tensors is one batch.

    Returns:
        The batches, in order.

    Raises:
        ValueError: if the data holds no batch or a batch is not ``(inputs, targets, ...)``.
    """
    if isinstance(data, tuple) and len(data) == 2 and all(isinstance(t, torch.Tensor) for t in data):
        data = [data]
    batches: list[Batch] = []
    for index, batch in enumerate(data):
        if not isinstance(batch, (tuple, list)) or len(batch) < 2:
            raise ValueError(f"batch {index} is a {type(batch).__name__}; flatness needs (inputs, targets) batches")
        if not isinstance(batch[1], torch.Tensor) or batch[1].ndim == 0:
            raise ValueError(f"batch {index}: targets must be a tensor with a batch dimension")
        batches.append((batch[0], batch[1]))
    if not batches:
        raise ValueError("the data subset holds no batch; flatness needs at least one (inputs, targets)")
    return batches


def _to_device(value: Any, device: torch.device) -> Any:
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, (tuple, list)):
        return type(value)(_to_device(item, device) for item in value)
    if isinstance(value, dict):
        return {key: _to_device(item, device) for key, item in value.items()}
    return value


def select_exit(output: Any, exit_index: int) -> torch.Tensor:
    """The logits of one exit of a multi-exit network (a list of logits); others pass through."""
    if isinstance(output, (list, tuple)):
        if not -len(output) <= exit_index < len(output):
            raise ValueError(f"exit_index {exit_index} is out of range for a model with {len(output)} exits")
        return output[exit_index]
    return output


class Objective:
    """The mean loss over a fixed subset of batches as a function of the trainable parameters.

    The criterion must average over the batch (``reduction='mean'``); batch ``b`` of size
    ``n_b`` is weighted by ``n_b / N`` so that the objective is the mean over all ``N`` samples.
    Parameters are handled as one flat vector in the order of ``model.parameters()`` (only those
    with ``requires_grad``).

    Args:
        model: the network (already in the mode it should be measured in).
        criterion: ``loss = criterion(logits, targets)``, a scalar tensor.
        data: the subset, as accepted by :func:`as_batches`; it is moved to the model's device.
        exit_index: which exit to use when the model returns a list of logits (-1: the last).
    """

    def __init__(self, model: nn.Module, criterion: Criterion, data: Data, *, exit_index: int = -1) -> None:
        self.model = model
        self.criterion = criterion
        self.exit_index = exit_index
        self.params = [p for p in model.parameters() if p.requires_grad]
        if not self.params:
            raise ValueError("the model has no trainable parameter (requires_grad) to measure")
        self.device = self.params[0].device
        self.dtype = self.params[0].dtype
        self.batches = [(_to_device(x, self.device), y.to(self.device)) for x, y in as_batches(data)]
        total = sum(len(y) for _, y in self.batches)
        self.weights = [len(y) / total for _, y in self.batches]
        self.numels = [p.numel() for p in self.params]
        self.dim = sum(self.numels)
        self.passes = 0  # forward passes over the whole subset, for cost reports

    def batch_loss(self, index: int) -> torch.Tensor:
        """The weighted loss of one batch (a scalar tensor, differentiable if grad is enabled)."""
        inputs, targets = self.batches[index]
        logits = select_exit(self.model(inputs), self.exit_index)
        loss = self.criterion(logits, targets)
        if loss.ndim != 0:
            raise ValueError(f"the criterion returned shape {tuple(loss.shape)}; it must reduce to a scalar")
        return loss * self.weights[index]

    def flatten(self, tensors: Sequence[torch.Tensor | None]) -> torch.Tensor:
        """Concatenate per-parameter tensors (``None`` counts as zeros) into one flat vector."""
        parts = [
            torch.zeros(n, dtype=self.dtype, device=self.device) if t is None else t.reshape(-1)
            for t, n in zip(tensors, self.numels)
        ]
        return torch.cat(parts)

    def unflatten(self, vector: torch.Tensor) -> list[torch.Tensor]:
        """Split a flat vector into views shaped like the parameters."""
        return [chunk.view_as(p) for chunk, p in zip(vector.split(self.numels), self.params)]

    def get_flat(self) -> torch.Tensor:
        """The current parameters as a flat vector (a copy)."""
        return self.flatten([p.detach() for p in self.params]).clone()

    def set_flat(self, vector: torch.Tensor) -> None:
        """Overwrite the parameters in place with a flat vector."""
        with torch.no_grad():
            for p, chunk in zip(self.params, self.unflatten(vector)):
                p.copy_(chunk)

    def loss(self) -> float:
        """The mean loss over the subset at the current parameters."""
        self.passes += 1
        with torch.no_grad():
            return float(sum(self.batch_loss(i).item() for i in range(len(self.batches))))

    def loss_and_grad(self) -> tuple[float, torch.Tensor]:
        """The mean loss over the subset and its gradient (a flat vector), leaving ``.grad`` untouched."""
        self.passes += 1
        total = 0.0
        grad = torch.zeros(self.dim, dtype=self.dtype, device=self.device)
        for i in range(len(self.batches)):
            with torch.enable_grad():
                loss = self.batch_loss(i)
                if loss.requires_grad:
                    parts = torch.autograd.grad(loss, self.params, allow_unused=True)
                    grad += self.flatten(parts)
            total += loss.item()
        return total, grad
