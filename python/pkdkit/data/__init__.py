"""Datasets: the synthetic action set, official splits, ``prepare``, torch datasets and transforms.

Names are imported on first use, so ``pkdkit.data.read_splits`` never imports torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "SYNTH_CLASSES": "synth",
    "synth_dataset": "synth",
    "render_synth_video": "synth",
    "Split": "splits",
    "read_splits": "splits",
    "ucf101_splits": "splits",
    "hmdb51_splits": "splits",
    "folder_split": "splits",
    "prepare_dataset": "prepare",
    "PrepareReport": "prepare",
    "segment_frames": "sampling",
    "frame_to_gop": "sampling",
    "coviar_positions": "sampling",
    "fused_positions": "sampling",
    "CoviarDataset": "datasets",
    "FusedDataset": "datasets",
    "DatalistEntry": "datasets",
    "read_datalist": "datasets",
    "train_transform": "transforms",
    "eval_transform": "transforms",
    "ten_crop_transform": "transforms",
    "normalize": "transforms",
    "normalize_batch": "transforms",
    "to_network_input": "transforms",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'pkdkit.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
