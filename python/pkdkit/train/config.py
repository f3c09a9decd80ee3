"""Training recipes: TOML files merged over built-in defaults, resolved per stage and modality.

A recipe has two stages, ``[backbone]`` (CE training of a whole network) and ``[ics]`` (training
of the internal classifiers with the backbone frozen). Keys directly in a stage apply to every
modality; a sub-table ``[backbone.mv]`` overrides them for one modality. A stage-level key in a
file replaces the per-modality values of that key inherited from the defaults. ``[data]`` and ``[run]``
are shared. :func:`resolve` flattens this into one dict for one (stage, modality).

The defaults are the PKD authors' UCF-101 recipe (paper.md sections 2-3).
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..vocabulary import MODALITIES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["DEFAULTS", "load_config", "merge", "resolve", "dump_toml", "STAGES", "MODALITIES"]

STAGES = ("backbone", "ics")

DEFAULTS: dict[str, Any] = {
    "run": {
        "seed": 4711,
        "device": "auto",  # auto | cpu | cuda
        "amp": True,  # bf16 autocast, CUDA only
        "channels_last": True,  # CUDA only
        "sync_bn": False,  # SyncBatchNorm under DDP on CUDA
        "eval_every": 1,  # epochs between test-split evaluations (the last epoch is always evaluated)
        "workers": 2,
    },
    "data": {
        "split": 1,  # recorded by `pkdkit train` (the --split option)
        "num_segments": 3,
        "input_size": 224,
        "mirror": True,  # random left-right flips in training (off for direction-defined classes)
        "test_batch_size": 0,  # 0: same as the stage's batch size
        "missing": "error",  # listed videos that do not exist: error (list them) | drop (warn, record)
    },
    "model": {
        "arch": {"iframe": "resnet50", "mv": "resnet18", "residual": "resnet18"},
        "ic_pool": "avg",  # avg (paper) | mixed (SDN)
        "pretrained": {"iframe": "", "mv": "", "residual": ""},  # torchvision state dict files
    },
    "backbone": {
        "epochs": 510,
        "lr_steps": [150, 270, 390],
        "lr_gamma": 0.1,
        "eps": 1e-3,
        "weight_decay": 1e-4,
        "bias_decay": False,  # CoViAR: no weight decay on biases
        # CoViAR's per-parameter lr multipliers: stem = conv1/bn1/data_bn, fc = exit 4, body = rest.
        "lr_mult_stem": 0.01,
        "lr_mult_fc": 1.0,
        "lr_mult_body": 0.01,
        "iframe": {"lr": 0.0003, "batch_size": 40},
        "mv": {"lr": 0.01, "batch_size": 80, "lr_mult_stem": 0.1},
        "residual": {"lr": 0.005, "batch_size": 80, "lr_mult_stem": 0.1},
    },
    "ics": {
        "method": "pkd",  # pkd | ce
        "epochs": 300,
        "lr_steps": [150, 200, 250],
        "lr_gamma": 0.1,
        "eps": 1e-3,
        "weight_decay": 0.0,  # the authors' effective value
        "batch_size": 32,
        # The authors train ICs on 256x256 crops (224 * 256 // 224) and test on 224; 0 = input_size.
        "train_input_size": 0,
        # The authors train ICs (CE and PKD alike) on the fused data: I-frame, MV and residual of the
        # same GOP, MV/residual at a random P position. False: CE reads the single-modality dataset.
        "fused_data": True,
        # PKD only: False is the authors' PKD, whose optimisers leave the IC Linear biases at init.
        # The CE baseline always trains them, as the authors' CE script does.
        "train_ic_bias": True,
        # False: the authors' code, where backbone BN statistics drift (and the "self" teacher is
        # the student's own train-mode final exit, batch statistics and all).
        "freeze_bn_stats": True,
        "temperature": 1.0,
        "loss": "soft_ce",  # soft_ce (paper, no T^2) | kl (Hinton: KL * T^2)
        "schedule": "progressive",  # progressive | anti | fixed
        "boundaries": [50, 100],  # epochs where the teacher changes
        "fixed_teacher": "iframe",  # the teacher of the "fixed" schedule
        "iframe": {"lr": 0.0003},
        "mv": {"lr": 0.01},
        "residual": {"lr": 0.005},
    },
}


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Recursively merges ``override`` into a copy of ``base`` (tables merge, values replace)."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _check_keys(config: Mapping[str, Any], reference: Mapping[str, Any], where: str, source: str) -> None:
    for key, value in config.items():
        if key not in reference:
            allowed = ", ".join(sorted(reference))
            raise ValueError(f"{source}: unknown key '{where}{key}'; allowed here: {allowed}")
        if isinstance(value, Mapping) and isinstance(reference[key], Mapping):
            _check_keys(value, reference[key], f"{where}{key}.", source)


def _stage_reference(stage: Mapping[str, Any]) -> dict[str, Any]:
    # Any stage key may be overridden per modality.
    common = {k: v for k, v in stage.items() if k not in MODALITIES}
    merged = merge(common, {})
    for key, value in stage.items():
        if key in MODALITIES:
            merged.update(value)
    # Any modality key (lr, batch_size) may also be set once for all modalities.
    return {**merged, **stage, **{m: merged for m in MODALITIES}}


def load_config(path: str | Path | None = None, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Reads a TOML recipe and merges it (then ``overrides``) over :data:`DEFAULTS`.

    Args:
        path: a TOML file, or None for the defaults alone.
        overrides: nested dict applied last (e.g. from command-line options).

    Returns:
        The full config dict.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: the TOML is malformed or has a key the defaults do not know (typo guard).
    """
    reference = {**DEFAULTS, **{s: _stage_reference(DEFAULTS[s]) for s in STAGES}}
    config = copy.deepcopy(DEFAULTS)
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such config file")
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as err:
            raise ValueError(f"{path}: invalid TOML: {err}") from err
        _check_keys(data, reference, "", str(path))
        config = _layer(config, data)
    if overrides:
        _check_keys(overrides, reference, "", "overrides")
        config = _layer(config, overrides)
    return config


def _layer(config: dict[str, Any], layer: Mapping[str, Any]) -> dict[str, Any]:
    """Merges a user layer; its stage-level keys replace earlier per-modality values of that key.

    So ``[backbone] lr = 0.1`` in a file means 0.1 for every modality, unless the same file's
    ``[backbone.mv]`` says otherwise.
    """
    config = copy.deepcopy(config)
    for stage in STAGES:
        for key in layer.get(stage, {}):
            if key not in MODALITIES:
                for modality in MODALITIES:
                    config[stage].get(modality, {}).pop(key, None)
    return merge(config, layer)


def resolve(config: Mapping[str, Any], stage: str, modality: str) -> dict[str, Any]:
    """Flattens one stage of a config for one modality.

    Returns:
        The stage's common keys, overridden by the modality's sub-table, plus ``run``, ``data``
        and ``model`` entries (the model's per-modality ``arch`` and ``pretrained`` picked out).

    Raises:
        ValueError: unknown stage or modality, or a required key (``lr``) missing.
    """
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; expected one of {', '.join(STAGES)}")
    if modality not in MODALITIES:
        raise ValueError(f"unknown modality {modality!r}; expected one of {', '.join(MODALITIES)}")
    table = config[stage]
    flat = {k: copy.deepcopy(v) for k, v in table.items() if k not in MODALITIES}
    flat.update(copy.deepcopy(table.get(modality, {})))
    for key in ("lr", "batch_size", "epochs"):
        if key not in flat:
            raise ValueError(f"config: [{stage}] has no {key!r} for modality {modality!r}")
    model = dict(config["model"])
    model["arch"] = model["arch"][modality] if isinstance(model["arch"], Mapping) else model["arch"]
    pretrained = model.get("pretrained", "")
    model["pretrained"] = pretrained.get(modality, "") if isinstance(pretrained, Mapping) else pretrained
    return {**flat, "run": dict(config["run"]), "data": dict(config["data"]), "model": model}


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON string escapes are valid TOML basic strings
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def dump_toml(config: Mapping[str, Any]) -> str:
    """Writes a nested dict of scalars/lists as TOML (tables after plain keys), for run records."""
    lines: list[str] = []

    def table(prefix: str, data: Mapping[str, Any]) -> None:
        plain = {k: v for k, v in data.items() if not isinstance(v, Mapping)}
        nested = {k: v for k, v in data.items() if isinstance(v, Mapping)}
        if prefix and (plain or not nested):
            lines.append(f"\n[{prefix}]")
        for key, value in plain.items():
            lines.append(f"{key} = {_toml_value(value)}")
        for key, value in nested.items():
            table(f"{prefix}.{key}" if prefix else key, value)

    table("", config)
    return "\n".join(lines).lstrip("\n") + "\n"
