"""Evaluation helpers: the 12-exit logits file, per-exit accuracy, per-exit cost, trade-off reports.

A logits file (``.npz``, written by ``pkdkit logits``) holds:

- ``logits``: (K, N, C) float32, the exits in cascade order (``names``);
- ``labels``: (N,) int64;
- ``names``: (K,) exit names (``R1..R4, MV1..MV4, I1..I4``);
- ``costs``: (K,) incremental multiply-accumulates of each exit per video (all segments), in
  cascade order: computing exit k after exits 1..k-1 costs ``costs[k]`` more.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

__all__ = [
    "ExitLogits",
    "save_logits",
    "load_logits",
    "per_exit_accuracy",
    "count_macs",
    "incremental_costs",
    "tradeoff_report",
    "report_markdown",
    "plot_tradeoff",
]


@dataclass
class ExitLogits:
    """Logits of every exit on one data set (see the module docstring for the fields)."""

    logits: np.ndarray
    labels: np.ndarray
    names: list[str]
    costs: np.ndarray

    def __post_init__(self) -> None:
        self.logits = np.asarray(self.logits, np.float32)
        self.labels = np.asarray(self.labels, np.int64)
        self.costs = np.asarray(self.costs, np.float64)
        k, n = self.logits.shape[:2] if self.logits.ndim == 3 else (None, None)
        if self.logits.ndim != 3 or self.labels.shape != (n,) or len(self.names) != k or self.costs.shape != (k,):
            raise ValueError(
                "inconsistent logits file: logits must be (exits, samples, classes) with matching "
                f"labels/names/costs, got logits {self.logits.shape}, labels {self.labels.shape}, "
                f"{len(self.names)} names, costs {self.costs.shape}"
            )

    def select(self, order: Sequence[str]) -> ExitLogits:
        """The same logits with exits reordered (or subset) to ``order``."""
        from .wise import cascade_order

        idx = cascade_order(self.names, order)
        return ExitLogits(self.logits[idx], self.labels, list(order), self.costs[idx])


def save_logits(path: str | Path, data: ExitLogits) -> None:
    """Write ``data`` to ``path`` (``.npz``) atomically."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, logits=data.logits, labels=data.labels, names=np.array(data.names), costs=data.costs)
    tmp.replace(path)


def load_logits(path: str | Path) -> ExitLogits:
    """Read a logits file written by :func:`save_logits`.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: if the file lacks a field or its shapes disagree.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no logits file at {path}")
    expected = "expected a logits file (.npz) from `pkdkit logits`"
    with open(path, "rb") as stream:  # our handle: numpy leaks its own when the archive is bad
        try:
            archive = np.load(stream, allow_pickle=False)
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
            # numpy's message for a non-array file advises loading pickles: never pass it on.
            damaged = isinstance(err, (zipfile.BadZipFile, EOFError))
            why = "truncated or damaged archive" if damaged else "not a numpy file"
            raise ValueError(f"{path}: {why}; {expected}") from None
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise ValueError(f"{path}: a single numpy array, not an .npz archive; {expected}")
        with archive as f:
            missing = {"logits", "labels", "names", "costs"} - set(f.files)
            if missing:
                raise ValueError(f"{path}: not a pkdkit logits file (missing {sorted(missing)}); {expected}")
            try:
                return ExitLogits(f["logits"], f["labels"], [str(n) for n in f["names"]], f["costs"])
            except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
                why = "holds pickled Python objects, which pkdkit never loads" if "pickle" in str(err) else str(err)
                raise ValueError(f"{path}: {why}; {expected}") from None


def per_exit_accuracy(data: ExitLogits) -> dict[str, float]:
    """Top-1 accuracy (fraction) of every exit on its own."""
    pred = data.logits.argmax(-1)
    return {n: float((pred[i] == data.labels).mean()) for i, n in enumerate(data.names)}


def count_macs(fn: Callable[[], object]) -> int:
    """Multiply-accumulates executed by ``fn()``, from torch's FLOP counter (FLOPs / 2)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops() // 2)


def incremental_costs(cumulative: Sequence[float]) -> np.ndarray:
    """Turn the cumulative cost up to each exit of one network into per-exit increments."""
    c = np.asarray(cumulative, np.float64)
    return np.diff(np.concatenate([[0.0], c]))


def tradeoff_report(
    models: dict[str, object],
    data: ExitLogits,
    thresholds: Sequence[float],
    baselines: dict[str, dict] | None = None,
    *,
    confidence_baseline: bool = True,
) -> dict:
    """Accuracy and cost of every WISE model at every threshold, plus baselines and trade-off metrics.

    Args:
        models: label -> :class:`pkdkit.wise.WiseModel`; the first one also gets the cost
            accounting table (:func:`pkdkit.tradeoff.cost_rules_table`).
        data: test logits in the models' cascade order.
        thresholds: exit thresholds to sweep.
        baselines: label -> ``{"accuracy", "cost"}`` single points (e.g. CoViAR's fusion).
        confidence_baseline: add the SDN-style confidence-threshold curve on the same logits
            (:func:`pkdkit.tradeoff.sweep_confidence_exit`).

    Returns:
        ``{"curves": {label: [rows]}, "baselines": {...}, "per_exit": {...}, "full_cost": float,
        "metrics": {label: summary}, "cost_rules": [rows], "settings": {label: text}}``; every cost is the mean over all
        test videos, each counted once, wrong early exits included. Unreachable budgets are None.
    """
    from . import tradeoff

    curves = {label: m.tradeoff(data.logits, data.labels, thresholds) for label, m in models.items()}
    if confidence_baseline:
        curves[CONFIDENCE_LABEL] = tradeoff.sweep_confidence_exit(data.logits, data.labels, data.costs, thresholds)
    baselines = baselines or {}
    full_cost = float(np.sum(data.costs))
    metrics: dict[str, dict] = {}
    if full_cost > 0:
        for label, rows in {**curves, **{k: [v] for k, v in baselines.items()}}.items():
            summary = tradeoff.summarise(rows, full_cost)
            metrics[label] = {k: (None if np.isnan(v) else v) for k, v in summary.items()}
    settings = {label: m.describe() if hasattr(m, "describe") else str(m) for label, m in models.items()}
    cost_rules = []
    if models:
        first = next(iter(models.values()))
        cost_rules = tradeoff.cost_rules_table(first, data.logits, data.labels, thresholds)
    return {
        "curves": curves,
        "baselines": baselines,
        "per_exit": per_exit_accuracy(data),
        "full_cost": full_cost,
        "metrics": metrics,
        "cost_rules": cost_rules,
        "settings": settings,
    }


#: The label of the confidence-threshold baseline curve in :func:`tradeoff_report`.
CONFIDENCE_LABEL = "confidence exit (SDN)"


def report_markdown(report: dict, cost_unit: float = 1e9, unit_name: str = "GMACs") -> str:
    """The trade-off report as markdown: one row per curve point and baseline, then the trade-off
    metrics and the cost-accounting comparison when the report has them."""
    from . import tradeoff

    lines = [
        f"| method | threshold | accuracy (%) | {unit_name} / video | exits used (histogram) |",
        "|---|---|---|---|---|",
    ]
    for label, rows in report["curves"].items():
        for r in rows:
            lines.append(
                f"| {label} | {r['threshold']:g} | {100 * r['accuracy']:.2f} | "
                f"{r['cost'] / cost_unit:.4g} | {' '.join(map(str, r['exit_histogram']))} |"
            )
    for label, b in report["baselines"].items():
        lines.append(f"| {label} | - | {100 * b['accuracy']:.2f} | {b['cost'] / cost_unit:.4g} | all |")
    text = "\n".join(lines) + "\n"
    if report.get("settings"):
        text += "\nStages of each WISE curve:\n\n" + "".join(
            f"- {label}: {how}\n" for label, how in report["settings"].items()
        )
    if report.get("metrics"):
        text += (
            f"\nTrade-off metrics (cost normalised by the full cascade, "
            f"{report['full_cost'] / cost_unit:.4g} {unit_name} per video; Pareto points joined "
            "linearly; see `pkdkit.tradeoff`):\n\n" + tradeoff.metrics_markdown(report["metrics"])
        )
    if report.get("cost_rules"):
        first = next(iter(report["curves"]))
        text += (
            f"\nCost accounting of {first}: pkdkit charges every test video once, wrong early exits "
            "included. The authors' WISE scripts charge a correct exit at MV2-MV4 twice; their TEAM-Net "
            "notebook charges wrong early exits nothing. Compare with the paper's costs only under the "
            "same rule:\n\n" + tradeoff.cost_rules_markdown(report["cost_rules"], cost_unit, unit_name)
        )
    return text


def plot_tradeoff(report: dict, path: str | Path, cost_unit: float = 1e9, unit_name: str = "GMACs") -> None:
    """Accuracy against cost: one curve per WISE variant, one marker per baseline (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=120)
    for label, rows in report["curves"].items():
        pts = sorted((r["cost"] / cost_unit, 100 * r["accuracy"]) for r in rows)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", ms=3, label=label)
    for label, b in report["baselines"].items():
        ax.scatter([b["cost"] / cost_unit], [100 * b["accuracy"]], marker="*", s=120, zorder=5, label=label)
    ax.set_xlabel(f"{unit_name} per video")
    ax.set_ylabel("top-1 accuracy (%)")
    ax.set_title("Accuracy / compute trade-off")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_report(report: dict, out_dir: str | Path, cost_unit: float = 1e9) -> dict[str, Path]:
    """Write ``tradeoff.md``, ``tradeoff.json`` and ``tradeoff.png`` into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"md": out / "tradeoff.md", "json": out / "tradeoff.json", "png": out / "tradeoff.png"}
    paths["md"].write_text(report_markdown(report, cost_unit))
    paths["json"].write_text(json.dumps(report, indent=1))
    plot_tradeoff(report, paths["png"], cost_unit)
    return paths
