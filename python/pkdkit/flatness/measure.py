"""Measure the flatness of several trained networks side by side (what ``pkdkit flatness`` runs).

:func:`measure_models` measures in-memory networks on their data subsets and writes
``flatness.json`` and PNG plots; :func:`measure_runs` loads pkdkit run directories and the same
seeded subset of clips (each in its run's modality) and calls it.
"""

from __future__ import annotations

import inspect
import json
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..data.datalists import find_datalist
from ..devices import resolve_device
from ._objective import Data, as_batches, select_exit
from .eigen import top_eigenvalues
from .landscape import landscape_1d, landscape_2d
from .plots import plot_contour, plot_curves, plot_surface
from .sharpness import average_case_sharpness, keskar_sharpness, worst_case_sharpness
from .trace import hessian_trace

METRICS = ("eigenvalues", "trace", "sharpness", "landscape")


@dataclass(frozen=True)
class MeasureOptions:
    """Settings shared by every network measured.

    Attributes:
        metrics: a subset of :data:`METRICS`.
        top_k: Hessian eigenvalues to compute (Lanczos).
        tol: relative residual tolerance of the eigenvalues.
        probes: Hessian-vector products of the trace estimate (XNysTrace: every product is
            both a Hutchinson probe and a column of the Nystrom sketch of the large eigenvalues;
            at least 2).
        epsilon: Keskar's box size.
        rho: radius of the adaptive worst-case sharpness ball.
        average_rho: noise scale of the adaptive average-case sharpness.
        norm: ``"l2"`` or ``"linf"`` for both adaptive sharpness measures.
        ascent_steps: gradient steps of the worst-case searches.
        noise_samples: random perturbations of the average-case sharpness.
        points_1d: grid points of the 1-D landscape on ``[-1, 1]``.
        points_2d: grid points per axis of the 2-D landscape (0: skip it).
        seed: seed of every random draw.
    """

    metrics: tuple[str, ...] = METRICS
    top_k: int = 1
    tol: float = 1e-3
    probes: int = 50
    epsilon: float = 1e-3
    rho: float = 0.5
    average_rho: float = 0.05
    norm: str = "l2"
    ascent_steps: int = 10
    noise_samples: int = 20
    points_1d: int = 21
    points_2d: int = 11
    seed: int = 0


def parse_metrics(text: str) -> tuple[str, ...]:
    """``"eigenvalues,trace"`` -> ``("eigenvalues", "trace")``, checking every name."""
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in METRICS]
    if unknown or not names:
        raise ValueError(f"unknown metrics {unknown or text!r}; choose from {','.join(METRICS)}")
    return names


def measure_models(
    models: Mapping[str, tuple[nn.Module, Data]],
    criterion: nn.Module,
    out: str | Path,
    options: MeasureOptions,
    *,
    info: Mapping[str, Mapping[str, Any]] | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Measure each network on its subset, write ``flatness.json`` and PNGs under ``out``.

    Args:
        models: ``{label: (network, data subset)}``; a network returning several logits is
            measured at the exit its wrapper selects (see :func:`measure_runs`), else at the last.
        criterion: the loss, e.g. ``nn.CrossEntropyLoss()``.
        out: output directory (created).
        options: what to measure and how.
        info: extra fields per label copied into the JSON (run path, modality, ...).
        progress: print progress to stderr.

    Returns:
        The report written to ``out/flatness.json``: ``{"settings": ..., "runs": {label: ...}}``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"settings": asdict(options), "runs": {}, "plots": []}
    curves = {}
    for label, (model, data) in models.items():
        batches = as_batches(data)
        entry: dict[str, Any] = dict((info or {}).get(label, {}))
        entry["parameters"] = sum(p.numel() for p in model.parameters() if p.requires_grad)
        entry["samples"] = sum(len(y) for _, y in batches)
        timings: dict[str, float] = {}
        for metric in options.metrics:
            _say(progress, f"{label}: {metric}")
            started = time.perf_counter()
            entry[metric] = _METRIC_FUNCTIONS[metric](model, criterion, batches, options, progress)
            timings[metric] = round(time.perf_counter() - started, 3)
        entry["seconds"] = timings
        if "landscape" in options.metrics:
            land = entry["landscape"]
            curves[label] = land.pop("_curve")
            plane = land.pop("_plane", None)
            if plane is not None:
                name = _file_label(label)
                report["plots"].append(str(plot_contour(plane, out / f"landscape2d_{name}_contour.png", title=label)))
                report["plots"].append(str(plot_surface(plane, out / f"landscape2d_{name}_surface.png", title=label)))
        report["runs"][label] = entry
    if curves:
        path = plot_curves(curves, out / "landscape1d.png", title="Loss along a filter-normalised direction")
        report["plots"].insert(0, str(path))
    (out / "flatness.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def _eigenvalues(model: nn.Module, criterion: nn.Module, data: Data, o: MeasureOptions, _: bool) -> dict[str, Any]:
    result = top_eigenvalues(model, criterion, data, k=o.top_k, tol=o.tol, seed=o.seed)
    return {
        "values": list(result.eigenvalues),
        "residuals": list(result.residuals),
        "hvps": result.hvps,
        "converged": result.converged,
    }


def _trace(model: nn.Module, criterion: nn.Module, data: Data, o: MeasureOptions, _: bool) -> dict[str, Any]:
    result = hessian_trace(model, criterion, data, samples=o.probes, method="xnystrace", seed=o.seed)
    return {
        "mean": result.mean, "stderr": result.stderr, "ci95": list(result.ci95), "hvps": result.hvps,
        "method": result.method,
    }


def _sharpness(model: nn.Module, criterion: nn.Module, data: Data, o: MeasureOptions, _: bool) -> dict[str, Any]:
    keskar = keskar_sharpness(model, criterion, data, epsilon=o.epsilon, steps=o.ascent_steps, seed=o.seed)
    worst = worst_case_sharpness(model, criterion, data, rho=o.rho, norm=o.norm, steps=o.ascent_steps, seed=o.seed)
    average = average_case_sharpness(
        model, criterion, data, rho=o.average_rho, norm=o.norm, samples=o.noise_samples, seed=o.seed
    )
    return {
        "base_loss": keskar.base_loss,
        "keskar": {"value": keskar.value, "epsilon": o.epsilon, "max_loss": keskar.perturbed_loss},
        "adaptive_worst": {"value": worst.value, "rho": o.rho, "norm": o.norm, "max_loss": worst.perturbed_loss},
        "adaptive_average": {
            "value": average.value,
            "stderr": average.stderr,
            "rho": o.average_rho,
            "norm": o.norm,
        },
    }


def _landscape(model: nn.Module, criterion: nn.Module, data: Data, o: MeasureOptions, progress: bool) -> dict[str, Any]:
    line = landscape_1d(model, criterion, data, alphas=np.linspace(-1, 1, o.points_1d), seed=o.seed, progress=progress)
    entry: dict[str, Any] = {"alphas": line.alphas.tolist(), "losses": line.losses.tolist(), "_curve": line}
    if o.points_2d > 0:
        grid = np.linspace(-1, 1, o.points_2d)
        plane = landscape_2d(model, criterion, data, alphas=grid, seed=o.seed, progress=progress)
        entry["plane"] = {"alphas": grid.tolist(), "betas": grid.tolist(), "losses": plane.losses.tolist()}
        entry["_plane"] = plane
    return entry


_METRIC_FUNCTIONS = {
    "eigenvalues": _eigenvalues,
    "trace": _trace,
    "sharpness": _sharpness,
    "landscape": _landscape,
}


def _say(enabled: bool, message: str) -> None:
    if enabled:
        print(f"pkdkit flatness: {message}", file=sys.stderr, flush=True)


def _file_label(label: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in label)


# ------------------------------------------------------------------------ trained runs + data


class SingleExit(nn.Module):
    """Wraps a multi-exit network so that only one exit is computed and returned.

    A :class:`pkdkit.models.MultiExitNet` accepts ``exits=[k]`` and then runs the backbone only
    up to exit ``k``; other modules returning a list of logits are indexed after the fact.
    """

    def __init__(self, network: nn.Module, exit_number: int) -> None:
        super().__init__()
        self.network = network
        self.exit_number = exit_number
        self.selects_exits = "exits" in inspect.signature(network.forward).parameters

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.selects_exits:
            return self.network(x, exits=[self.exit_number])[0]
        return select_exit(self.network(x), self.exit_number - 1)


def freeze_unused(model: nn.Module, criterion: nn.Module, batch: tuple[Any, torch.Tensor]) -> int:
    """Turn off ``requires_grad`` of parameters the loss does not reach (other exits' heads,
    later stages), so curvature, sharpness and directions concern only the measured path.

    Returns:
        Number of parameters left trainable.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    with torch.enable_grad():
        grads = torch.autograd.grad(criterion(model(batch[0]), batch[1]), params, allow_unused=True)
    for param, grad in zip(params, grads):
        if grad is None:
            param.requires_grad_(False)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def choose_clips(datalist: Path, samples: int, seed: int) -> list[int]:
    """A seeded, sorted choice of ``samples`` line numbers of a datalist (all if it has fewer)."""
    lines = [line for line in datalist.read_text().splitlines() if line.strip()]
    if not lines:
        raise ValueError(f"{datalist}: the datalist is empty")
    if samples >= len(lines):
        return list(range(len(lines)))
    return sorted(np.random.default_rng(seed).choice(len(lines), size=samples, replace=False).tolist())


def load_subset(
    root: Path,
    datalist: Path,
    modality: str,
    num_segments: int,
    indices: Sequence[int],
    batch_size: int,
    crop_size: int = 224,
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The chosen clips of one modality with test-time sampling (segment centres, centre crop),
    as ``(inputs (B, segments, C, crop, crop) float32, labels (B,) int64)`` batches."""
    from ..data import CoviarDataset

    dataset = CoviarDataset(
        root, datalist, modality, num_segments=num_segments, is_train=False, crop_size=crop_size, seed=0
    )
    batches = []
    for start in range(0, len(indices), batch_size):
        items = dataset.__getitems__(list(indices[start : start + batch_size]))
        inputs = torch.stack([torch.as_tensor(x) for x, _ in items])
        labels = torch.as_tensor([int(y) for _, y in items], dtype=torch.long)
        batches.append((inputs, labels))
    return batches


def measure_runs(
    runs: Sequence[str | Path],
    data_root: str | Path,
    split: int,
    out: str | Path,
    options: MeasureOptions,
    *,
    subset: str = "train",
    dataset: str | None = None,
    samples: int = 64,
    batch_size: int = 16,
    num_segments: int | None = None,
    exit_number: int = 4,
    device: str = "auto",
    progress: bool = False,
) -> dict[str, Any]:
    """Measure trained runs on the same seeded subset of clips, each in its own modality.

    Args:
        runs: run directories (holding ``checkpoint.pt``) or checkpoint files.
        data_root: the prepared dataset folder (with ``datalists/``).
        split: split number of the datalist.
        out: output directory for ``flatness.json`` and PNGs.
        options: metrics and their settings.
        subset: ``"train"`` (the minimum training found) or ``"test"``.
        dataset: dataset name in the datalist file name, when several are prepared.
        samples: clips in the fixed subset.
        batch_size: clips per batch (memory only: every metric uses the whole subset).
        num_segments: segments per clip (default: the run's ``config.toml``, else 3); the crop
            size is the run's ``input_size`` (default 224).
        exit_number: exit to measure, 1..4 (4: the backbone's own classifier).
        device: ``auto``, ``cpu`` or ``cuda``.
        progress: print progress to stderr.

    Returns:
        The report (also written to ``out/flatness.json``).
    """
    from ..models import load_checkpoint, run_data_config

    if samples < 1 or batch_size < 1:
        raise ValueError(f"samples and batch size must be positive, got {samples} and {batch_size}")
    if not 1 <= exit_number <= 4:
        raise ValueError(f"exit must be 1..4, got {exit_number}")
    root, target = Path(data_root), resolve_device(device)
    datalist = find_datalist(root, split, subset, dataset)
    indices = choose_clips(datalist, samples, options.seed)
    criterion = nn.CrossEntropyLoss()
    models: dict[str, tuple[nn.Module, Data]] = {}
    info: dict[str, dict[str, Any]] = {}
    for run in map(Path, runs):
        network = load_checkpoint(run, device=target)
        modality = getattr(network, "modality", "?")
        data_config = run_data_config(run)
        segments = num_segments or int(data_config.get("num_segments", 3))
        crop = int(data_config.get("input_size", 224))
        label = _unique(run.name if run.is_dir() else run.parent.name, models)
        _say(progress, f"{label}: loading {len(indices)} {modality} clips")
        batches = load_subset(root, datalist, modality, segments, indices, batch_size, crop)
        model = SingleExit(network, exit_number)
        freeze_unused(model, criterion, (batches[0][0].to(target), batches[0][1].to(target)))
        models[label] = (model, batches)
        info[label] = {
            "run": str(run),
            "modality": modality,
            "arch": getattr(network, "config", {}).get("arch", "?"),
            "exit": exit_number,
            "datalist": str(datalist),
            "clips": indices,
            "num_segments": segments,
            "input_size": crop,
            "device": str(target),
        }
    return measure_models(models, criterion, out, options, info=info, progress=progress)


def _unique(label: str, taken: Mapping[str, Any]) -> str:
    candidate, n = label, 2
    while candidate in taken:
        candidate, n = f"{label}-{n}", n + 1
    return candidate
