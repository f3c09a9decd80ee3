"""Multi-exit networks: torchvision ResNet backbones with internal classifiers (ICs).

A network maps TSN segments ``(B, S, C, H, W)`` to the logits of four exits (IC1-IC3 after
``layer1``-``layer3``, exit 4 = the backbone's fc), averaged over segments::

    model = pkdkit.models.create_model("resnet18", modality="mv", num_classes=101)
    logits = model(x)                 # [IC1, IC2, IC3, final], each (B, 101)
    first_two = model.forward_until(x, 2)
"""

from __future__ import annotations

from . import resnet as _resnet  # noqa: F401  (registers the entrypoints)
from ._checkpoint import CHECKPOINT_NAME, load_checkpoint, read_checkpoint
from ._pretrained import load_pretrained
from ._registry import DEFAULT_ARCH, create_model, list_models, register_model
from ._run import RunInfo, read_run, run_data_config
from .heads import ICHead, MixedPool2d, create_ic_head
from .multi_exit import MODALITY_CHANNELS, NUM_EXITS, MultiExitNet

__all__ = [
    "CHECKPOINT_NAME",
    "DEFAULT_ARCH",
    "MODALITY_CHANNELS",
    "NUM_EXITS",
    "ICHead",
    "MixedPool2d",
    "MultiExitNet",
    "create_ic_head",
    "create_model",
    "list_models",
    "load_checkpoint",
    "load_pretrained",
    "read_checkpoint",
    "register_model",
    "RunInfo",
    "read_run",
    "run_data_config",
]
