"""Hessian-vector products of the loss over a whole data subset, by double backpropagation."""

from __future__ import annotations

import torch

from ._objective import Objective


class HessianOperator:
    """``v -> H v`` for the Hessian ``H`` of the mean loss over the full subset.

    One product costs one forward pass and two backward passes per batch: the gradient of
    each batch is built with ``create_graph=True``, dotted with ``v`` and differentiated again;
    the per-batch results are summed with the batch weights, so every call is a product with
    the full-subset Hessian (never a stochastic one-batch estimate). Graphs are freed after
    each batch, so memory stays that of one batch.

    Args:
        objective: the loss on the subset (model, criterion, batches, exit).

    Attributes:
        dim: number of trainable parameters ``P``.
        count: Hessian-vector products computed so far.
    """

    def __init__(self, objective: Objective) -> None:
        self.objective = objective
        self.dim = objective.dim
        self.count = 0

    def __call__(self, vector: torch.Tensor) -> torch.Tensor:
        """Compute ``H @ vector``.

        Args:
            vector: flat vector, shape ``(P,)``, dtype and device of the parameters.

        Returns:
            ``H @ vector``, shape ``(P,)``.
        """
        obj = self.objective
        if vector.shape != (self.dim,):
            raise ValueError(f"vector has shape {tuple(vector.shape)}; expected ({self.dim},)")
        pieces = obj.unflatten(vector)
        product = torch.zeros_like(vector)
        for i in range(len(obj.batches)):
            with torch.enable_grad():
                loss = obj.batch_loss(i)
                if not loss.requires_grad:
                    continue  # the loss does not depend on the parameters: zero curvature
                grads = torch.autograd.grad(loss, obj.params, create_graph=True, allow_unused=True)
                terms = [(g * v).sum() for g, v in zip(grads, pieces) if g is not None and g.requires_grad]
                if not terms:
                    continue  # the gradient is constant (loss linear in the parameters)
                second = torch.autograd.grad(torch.stack(terms).sum(), obj.params, allow_unused=True)
            product += obj.flatten(second)
        self.count += 1
        return product
