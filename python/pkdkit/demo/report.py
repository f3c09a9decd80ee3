"""The markdown report and plots of one demo run, from its ``results`` dict and run folders."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._names import IC_METHODS, MODALITIES, MODALITY_NAMES

__all__ = ["render_report", "combine_curves"]

# What the data leads one to expect of the three networks, per synthetic preset.
EXPECTATION = {
    "actions": "Appearance hints at the class and motion settles it: the scene names a pair of classes, "
    "and inside a pair a small prop's colour (seen by the I-frame network only) and the motion split it, "
    "so, as CoViAR found on UCF-101, the I-frame network is expected first, the residual network second "
    "and the MV network third, all above chance and below their fusion; telling the small prop from a "
    "large banner of its colour takes the deeper layers, so early I-frame exits are expected below the "
    "final one.",
    "motion": "The synthetic classes differ only in motion: textures, shapes and places are drawn the "
    "same way for every class, so the I-frame network is expected near chance, while the MV and "
    "residual networks should be well above it.",
}


def combine_curves(runs_dir: Path, path: Path, chance: float) -> None:
    """Learning curves of the three backbones on one PNG: train loss, exit-4 test accuracy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    for modality in MODALITIES:
        lines = (runs_dir / modality / "metrics.jsonl").read_text().splitlines()
        records = [json.loads(line) for line in lines if line.strip()]
        epochs = [r["epoch"] + 1 for r in records]
        ax_loss.plot(epochs, [r.get("train_loss", math.nan) for r in records], label=MODALITY_NAMES[modality])
        ax_acc.plot(epochs, [100 * r.get("test_acc_exit4", math.nan) for r in records], marker="o", ms=3,
                    label=MODALITY_NAMES[modality])
    ax_acc.axhline(100 * chance, color="grey", ls="--", lw=0.8, label="chance")
    ax_loss.set(xlabel="epoch", ylabel="train loss (CE)", title="training loss")
    ax_acc.set(xlabel="epoch", ylabel="test accuracy, exit 4 (%)", title="test accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle("Backbone learning curves")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _seconds(x: float | None) -> str:
    return "n/a" if x is None or math.isnan(x) else f"{x:.1f}"


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def render_report(results: Mapping[str, Any]) -> str:
    """The markdown report of a demo run (from the ``results`` dict of :class:`DemoResult`)."""
    from ..evaluate import report_markdown

    s = results["settings"]
    chance = results["chance"]
    preset = s.get("preset", "motion")
    lines = [
        "# pkdkit demo report",
        "",
        f"Synthetic data (`pkdkit synth --preset {preset}`, see docs/synthetic.md): {s['classes']} classes, "
        f"{results['videos']['train']} training and {results['videos']['test']} test videos of "
        f"{s['frames']} frames at {s['size'][0]}x{s['size'][1]}; networks `resnet10_tiny` on "
        f"{s['num_segments']} segments of {s['input_size']}x{s['input_size']}, trained from scratch "
        f"({s['backbone_epochs']} backbone epochs, {s['ic_epochs']} IC epochs), seed {s['seed']}, "
        f"device {s['device']}{' (quick variant)' if s['quick'] else ''}.",
        "",
        f"**Chance level: {_pct(chance)} %** (1/{s['classes']} classes). All accuracies are top-1 on "
        "the test split, in %. One seed: differences of a few points are within noise; "
        "`pkdkit demo --seeds N` gives intervals.",
        "",
        "## Per-exit accuracy, CE vs PKD",
        "",
        "Exits 1-3 are the internal classifiers (trained with the backbone frozen), exit 4 the "
        "backbone's own classifier (identical for both methods). PKD teachers: the MV network, then "
        "the residual network, then the network's own final exit. " + EXPECTATION[preset],
        "",
        "| modality | ICs trained by | exit 1 | exit 2 | exit 3 | exit 4 |",
        "|---|---|---|---|---|---|",
    ]
    for modality, by_method in results["accuracy"].items():
        for method, accs in by_method.items():
            lines.append(f"| {MODALITY_NAMES[modality]} | {method.upper()} | " + " | ".join(map(_pct, accs)) + " |")
    lines += [
        "",
        "## Flatness of the three backbones",
        "",
        f"Cross-entropy at exit 4 on a fixed subset of {next(iter(results['flatness'].values()))['samples']} "
        "training clips (eval mode). Smaller is flatter. The landscape is the loss along one "
        "filter-normalised random direction, alpha in [-1, 1]. Trace estimator: "
        + ", ".join(sorted({f.get("trace_method", "hutchinson") for f in results["flatness"].values()})) + ".",
        "",
        "| modality | top Hessian eigenvalue | Hessian trace +- stderr | loss at minimum "
        "| max loss at alpha = +-1 |",
        "|---|---|---|---|---|",
    ]
    for modality, f in results["flatness"].items():
        conv = "" if f["eigenvalue_converged"] else " (not converged)"
        lines.append(
            f"| {MODALITY_NAMES[modality]} | {f['top_eigenvalue']:.4g}{conv} | {f['trace']:.4g} +- "
            f"{f['trace_stderr']:.2g} | {f['loss_at_minimum']:.3f} | {f['loss_at_edges']:.3f} |"
        )
    lines += [
        "",
        "![1-D loss landscape](landscape1d.png)",
        "",
        "## WISE accuracy / compute trade-off",
        "",
        "WISE fitted on the training-set logits of all 12 exits (R1-R4, MV1-MV4, I1-I4), evaluated on "
        "the test set: a video stops at the first stage whose softmax confidence exceeds the threshold "
        "(1.0: every exit). Costs are multiply-accumulates per video (all segments), in millions.",
        "",
        report_markdown(results["tradeoff"], 1e6, "MMACs").rstrip("\n"),
        "",
        "![trade-off](tradeoff.png)",
        "",
        "## Learning curves",
        "",
        "![backbone learning curves](curves.png)",
        "",
        "Per run (loss and every exit's test accuracy per epoch): "
        + ", ".join(f"[{m}](runs/{m}/curves.png)" for m in MODALITIES)
        + "; ICs: "
        + ", ".join(f"[{m} {k}](runs/{m}-{k}/curves.png)" for m in MODALITIES for k in IC_METHODS)
        + ".",
        "",
        "## Run time",
        "",
        "CPU time is user + system of the demo's process and its finished children (data-loading "
        "workers); the video encoders of the render step run in a process pool whose CPU time the "
        "operating system does not report to the demo (n/a, not in the total). On an otherwise idle "
        "machine a step's wall time lies between its CPU time / cores and its CPU time.",
        "",
        "| step | wall seconds | CPU seconds |",
        "|---|---|---|",
        *(f"| {name} | {secs:.1f} | {_seconds(results['step_cpu_seconds'].get(name))} |"
          for name, secs in results["step_seconds"].items()),
        f"| **total** | **{results['wall_seconds']:.1f}** | **{results['cpu_seconds']:.1f}** |",
        "",
        "Files: `data/` (videos), `runs/` (checkpoints, metrics), `flatness/flatness.json`, "
        "`logits/{ce,pkd}_{train,test}.npz`, `wise/` (fitted models, trade-off table), `results.json` "
        "(every number above).",
        "",
    ]
    return "\n".join(lines)
