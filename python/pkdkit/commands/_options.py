"""Click options shared by several commands: ``--device`` and ``--runs I,MV,R``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import click

from ..vocabulary import MODALITIES

__all__ = ["device_option", "runs_option"]

# The device names without importing torch (the CLI stays fast); pkdkit.devices resolves them.
_DEVICE_CHOICES = ("auto", "cpu", "cuda")


def device_option(help: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:  # noqa: A002
    """``--device auto|cpu|cuda`` (auto: CUDA when available); resolve with
    :func:`pkdkit.devices.resolve_device`."""
    return click.option(
        "--device", type=click.Choice(_DEVICE_CHOICES), default="auto", show_default=True,
        help=help or "Where to run (auto: CUDA when available).",
    )


def _three_runs(ctx: click.Context, param: click.Parameter, value: str) -> dict[str, Path]:
    parts = [p.strip() for p in value.split(",")]
    if len(parts) != len(MODALITIES) or not all(parts):
        raise click.BadParameter(f"expected three comma-separated run directories I_RUN,MV_RUN,R_RUN, got {value!r}")
    return {modality: Path(part) for modality, part in zip(MODALITIES, parts)}


def runs_option() -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--runs I_RUN,MV_RUN,R_RUN``, given to the command as ``{modality: Path}``."""
    return click.option(
        "--runs", required=True, callback=_three_runs,
        help="The three run directories, I-frame,MV,residual order: I_RUN,MV_RUN,R_RUN.",
    )
