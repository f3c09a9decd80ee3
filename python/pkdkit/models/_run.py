"""Reading a run folder written by ``pkdkit train``: its checkpoint (checked against the
checkpoint schema by :func:`read_checkpoint`) and the ``[data]`` table of its ``config.toml``.
The one reader for inference, logits, prediction and flatness."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ._checkpoint import load_checkpoint

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["RunInfo", "read_run", "run_data_config"]

#: ``[data]`` values of a run, with the defaults of ``pkdkit train``.
_DATA_DEFAULTS = {"num_segments": 3, "input_size": 224}


@dataclass(frozen=True)
class RunInfo:
    """A trained network and the input geometry it was trained with."""

    model: torch.nn.Module
    modality: str
    num_segments: int
    input_size: int


def run_data_config(run: str | Path) -> dict[str, Any]:
    """The ``[data]`` table of a run's ``config.toml`` (beside the checkpoint), ``{}`` if none.

    Raises:
        ValueError: the file is not TOML, or ``num_segments``/``input_size`` are not positive ints.
    """
    run = Path(run)
    path = run / "config.toml" if run.is_dir() else run.parent / "config.toml"
    if not path.is_file():
        return {}
    try:
        table = tomllib.loads(path.read_text()).get("data", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: not a readable run config ({err})") from err
    if not isinstance(table, dict):
        raise ValueError(f"{path}: [data] must be a table")
    for key in _DATA_DEFAULTS:
        value = table.get(key, 1)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{path}: data.{key} must be a positive integer, got {value!r}")
    return dict(table)


def read_run(run: str | Path, device: str | torch.device = "cpu") -> RunInfo:
    """The network of a run folder (or checkpoint file) in eval mode, with its input geometry.

    Raises:
        FileNotFoundError: no checkpoint there.
        ValueError: the checkpoint or ``config.toml`` does not follow its schema.
    """
    model = load_checkpoint(run, device=device).eval()
    data = {**_DATA_DEFAULTS, **run_data_config(run)}
    return RunInfo(model, model.modality, int(data["num_segments"]), int(data["input_size"]))
