"""Put a model in measuring conditions and give it back exactly as it was."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn


@contextmanager
def measuring(model: nn.Module) -> Iterator[nn.Module]:
    """Run the body with ``model`` in eval mode, then restore its state and modes.

    Every flatness metric perturbs the parameters in place and needs BatchNorm in eval mode
    (in train mode BN is nonlinear in its input and uses batch statistics, so the loss would
    depend on the batch split). On exit, even after an error, every parameter and buffer gets
    its saved value back and every sub-module its ``training`` flag.

    Args:
        model: the network to measure.

    Yields:
        The same module, in eval mode.
    """
    modes = [(module, module.training) for module in model.modules()]
    tensors = model.state_dict(keep_vars=True)
    saved = {name: tensor.detach().clone() for name, tensor in tensors.items()}
    model.eval()
    try:
        yield model
    finally:
        with torch.no_grad():
            for name, tensor in tensors.items():
                tensor.copy_(saved[name])
        for module, training in modes:
            module.training = training
