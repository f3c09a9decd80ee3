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
        batches: indices of the batches to use (default all). With fewer, the operator is the
            Hessian of the mean loss over those batches' samples alone (a sketch of the full one,
            used to warm-start eigensolvers), and each product costs only their share of a pass.

    Attributes:
        dim: number of trainable parameters ``P``.
        count: Hessian-vector products computed so far.
        passes: their cost in passes over the whole subset (``count`` times the operator's
            share of the samples: equal to ``count`` for the full-subset operator).
    """

    def __init__(self, objective: Objective, batches: list[int] | None = None) -> None:
        self.objective = objective
        self.dim = objective.dim
        self.count = 0
        self.passes = 0.0
        self.batches = list(range(len(objective.batches))) if batches is None else list(batches)
        if not self.batches or not set(self.batches) <= set(range(len(objective.batches))):
            raise ValueError(f"batches must be a non-empty subset of 0..{len(objective.batches) - 1}")
        full = len(set(self.batches)) == len(objective.batches)
        self.share = 1.0 if full else float(sum(objective.weights[i] for i in self.batches))

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
        for i in self.batches:
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
        self.passes += self.share
        return product if self.share == 1.0 else product / self.share
