"""Reading networks back from pkdkit checkpoints (the schema: ``model_config`` and ``model``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ._registry import create_model
from .multi_exit import MultiExitNet

__all__ = ["load_checkpoint", "read_checkpoint", "CHECKPOINT_NAME"]

#: File name of the checkpoint inside a run directory.
CHECKPOINT_NAME = "checkpoint.pt"

def _resolve(path: str | Path) -> Path:
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint")
    return path


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """Loads a pkdkit checkpoint dict (tensors on CPU) from a file or a run directory.

    Raises:
        FileNotFoundError: no checkpoint there.
        ValueError: the file is not a pkdkit checkpoint.
    """
    path = _resolve(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a truncated or foreign file: say which
        raise ValueError(f"{path}: not a readable checkpoint ({err})") from err
    if not isinstance(state, dict) or "model_config" not in state or "model" not in state:
        raise ValueError(f"{path}: not a pkdkit checkpoint (no model_config/model entries)")
    return state


def load_checkpoint(path: str | Path, *, device: str | torch.device = "cpu") -> MultiExitNet:
    """Rebuilds the network saved in a pkdkit checkpoint, ready for inference.

    Args:
        path: a checkpoint file, or a run directory holding ``checkpoint.pt``.
        device: where to put the network.

    Returns:
        The network in eval mode, with ``model.config`` as it was created.

    Raises:
        FileNotFoundError: no checkpoint at ``path``.
        ValueError: the file is not a pkdkit checkpoint.
    """
    state = read_checkpoint(path)
    config = dict(state["model_config"])
    arch = config.pop("arch")
    model = create_model(arch, **config)
    model.load_state_dict(state["model"])
    return model.to(device).eval()
