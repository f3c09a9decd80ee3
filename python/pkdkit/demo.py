"""``pkdkit demo``: the whole method end to end on built-in synthetic data, in minutes on a CPU.

Steps (each one timed and printed): render the synthetic set (:func:`pkdkit.data.synth_dataset`);
train the I-frame, MV and residual networks (:func:`pkdkit.train.train_backbone`); train their
internal classifiers by CE and by PKD (:func:`pkdkit.train.train_ics`, teachers MV net, residual
net, then the network itself); measure the flatness of the three backbones
(:mod:`pkdkit.flatness`); save the 12-exit logits of both IC variants
(:func:`pkdkit.inference.compute_logits`); fit WISE on the train logits and sweep thresholds on the
test logits (:mod:`pkdkit.wise`, :mod:`pkdkit.evaluate`); write ``OUT/report.md`` with tables and
PNG plots.

Nothing is downloaded and the recipe is built in (no config file needed), so an installed wheel
runs it. The same seed gives the same numbers on CPU.
"""

from __future__ import annotations

import json
import math
import os
import resource
import shutil
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch

from .train.data import TrainingData, open_datasets
from .vocabulary import MODALITIES

__all__ = ["DemoSettings", "DemoResult", "FULL", "QUICK", "run_demo", "demo_config"]

MODALITY_NAMES = {"iframe": "I-frame", "mv": "motion vectors", "residual": "residual"}
IC_METHODS = ("ce", "pkd")
THRESHOLDS = (0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999, 1.0)
MARKER = ".pkdkit-demo"  # marks a folder as a demo output that a later demo may overwrite
OUTPUTS = ("data", "runs", "flatness", "logits", "wise", "report.md", "curves.png", "tradeoff.png",
           "landscape1d.png", "results.json")


@dataclass(frozen=True)
class DemoSettings:
    """Sizes of one demo run.

    Attributes:
        classes: synthetic classes (motion patterns).
        videos_per_class: videos per class (about 30 % of them go to the test set).
        frames: frames per video.
        size: (width, height) of the rendered videos.
        num_segments: TSN segments per clip.
        input_size: square crop side fed to the networks.
        backbone_epochs: epochs of each backbone.
        backbone_lr: Adam learning rate of the backbones (per modality).
        ic_epochs: epochs of each IC training (CE and PKD alike).
        ic_lr: Adam learning rate of the ICs.
        batch_size: training batch size.
        flatness_samples: training clips in the fixed flatness subset.
        probes: Hutchinson probes of the Hessian trace.
        landscape_points: points of the 1-D landscape on [-1, 1].
        wise_iterations: full-batch SGD steps of the WISE fit.
        workers: DataLoader worker processes (0: load in the training process, and render the
            videos in it too).
    """

    classes: int
    videos_per_class: int
    frames: int
    size: tuple[int, int]
    num_segments: int
    input_size: int
    backbone_epochs: int
    backbone_lr: Mapping[str, float]
    ic_epochs: int
    ic_lr: float
    batch_size: int
    flatness_samples: int
    probes: int
    landscape_points: int
    wise_iterations: int
    workers: int = 1


#: The full demo: about 200 s of CPU time (2-4 minutes on 2 idle cores). The MV and residual exits
#: end clearly above chance; the I-frame network stays near chance by design of the data.
FULL = DemoSettings(
    classes=6,
    videos_per_class=36,
    frames=36,
    size=(128, 96),
    num_segments=3,
    input_size=64,
    backbone_epochs=24,
    backbone_lr={"iframe": 0.003, "mv": 0.003, "residual": 0.003},
    ic_epochs=6,
    ic_lr=0.003,
    batch_size=16,
    flatness_samples=32,
    probes=20,
    landscape_points=21,
    wise_iterations=300,
)

#: The CI variant: tiny sizes, two epochs; checks that everything runs, numbers mean little.
QUICK = DemoSettings(
    classes=3,
    videos_per_class=6,
    frames=16,
    size=(64, 48),
    num_segments=2,
    input_size=32,
    backbone_epochs=2,
    backbone_lr={"iframe": 0.003, "mv": 0.003, "residual": 0.003},
    ic_epochs=2,
    ic_lr=0.003,
    batch_size=8,
    flatness_samples=6,
    probes=2,
    landscape_points=5,
    wise_iterations=30,
    workers=0,
)


@dataclass(frozen=True)
class DemoResult:
    """What a demo run wrote and measured.

    Attributes:
        out: the output folder.
        report: ``out/report.md``.
        results: everything in the report as plain data (also ``out/results.json``).
    """

    out: Path
    report: Path
    results: dict[str, Any]


def demo_config(settings: DemoSettings, seed: int, device: str) -> dict[str, Any]:
    """The training recipe of the demo: tiny ResNets from scratch, full lr on every layer.

    CoViAR's small body/stem lr multipliers assume ImageNet weights; from scratch every layer
    needs the full rate. PKD's three teachers get one third of the IC epochs each.
    """
    from .train import load_config

    third = max(1, settings.ic_epochs // 3)
    overrides = {
        "run": {"seed": seed, "device": device, "eval_every": 1, "workers": settings.workers},
        # No mirroring: the synthetic classes include mirror pairs (MoveLeft/MoveRight, the rotations).
        "data": {"num_segments": settings.num_segments, "input_size": settings.input_size, "mirror": False},
        "model": {"arch": {m: "resnet10_tiny" for m in MODALITIES}},
        "backbone": {
            "epochs": settings.backbone_epochs,
            "lr_steps": [max(1, round(settings.backbone_epochs * 0.75))],
            "weight_decay": 1e-4,
            "lr_mult_stem": 1.0,
            "lr_mult_fc": 1.0,
            "lr_mult_body": 1.0,
            "batch_size": settings.batch_size,
            **{m: {"lr": float(settings.backbone_lr[m])} for m in MODALITIES},
        },
        "ics": {
            "epochs": settings.ic_epochs,
            "lr_steps": [max(1, round(settings.ic_epochs * 0.75))],
            "batch_size": settings.batch_size,
            "lr": settings.ic_lr,
            "schedule": "progressive",
            "boundaries": [third, 2 * third],
        },
    }
    return load_config(None, overrides)


class _Steps:
    """Prints one line per step with its duration and the time since the demo started."""

    def __init__(self, console: Any, total: int) -> None:
        self.console = console
        self.total = total
        self.done = 0
        self.started = time.perf_counter()
        self.durations: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    @contextmanager
    def step(self, name: str) -> Iterator[dict[str, str]]:
        self.done += 1
        note: dict[str, str] = {"text": ""}
        self.console.print(f"[bold]({self.done}/{self.total})[/bold] {name} ...")
        begun, cpu = time.perf_counter(), _cpu_seconds()
        yield note
        took = time.perf_counter() - begun
        self.durations[name] = took
        self.cpu[name] = _cpu_seconds() - cpu
        extra = f": {note['text']}" if note["text"] else ""
        self.console.print(
            f"[green]done[/green] ({self.done}/{self.total}) {name}{extra} "
            f"[dim]{took:.1f} s, {self.elapsed():.1f} s elapsed[/dim]"
        )


def _cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children (data workers, encoders)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _prepare_out(out: Path) -> None:
    """Creates ``out``; a previous demo's outputs in it are replaced, anything else is refused."""
    if out.exists() and not out.is_dir():
        raise FileNotFoundError(f"{out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise ValueError(f"{out}: folder is not empty and not a previous demo output; choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    for name in OUTPUTS:
        path = out / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    (out / MARKER).write_text("written by `pkdkit demo`; a later demo into this folder replaces its outputs\n")


def run_demo(
    out: str | Path,
    device: str = "auto",
    quick: bool = False,
    *,
    seed: int = 0,
    settings: DemoSettings | None = None,
    progress: bool = True,
    threads: int | None = None,
) -> DemoResult:
    """Runs the whole pipeline on synthetic data and writes ``out/report.md``.

    Args:
        out: output folder (created; a previous demo's outputs in it are replaced).
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        quick: the reduced CI variant (:data:`QUICK`) instead of :data:`FULL`.
        seed: seed of the data and of every training run.
        settings: explicit sizes (overrides ``quick``).
        progress: show progress bars and step lines.
        threads: torch CPU threads while the demo runs (restored afterwards); None: the cores
            left over by data loading (1 on a 2-core machine). More threads than free cores makes torch's
            thread pool wait on descheduled threads, which is far slower than one thread.

    Returns:
        A :class:`DemoResult`.

    Raises:
        ValueError: ``out`` holds something else than a previous demo, or ``device`` is unknown or
            ``cuda`` without a GPU.
    """
    from .devices import resolve_device

    settings = settings or (QUICK if quick else FULL)
    resolve_device(device)  # a bad device fails before anything is written
    previous = torch.get_num_threads()
    if threads is None:
        # One core stays with data loading (a worker, or the main process between steps).
        threads = min(previous, max(1, (os.cpu_count() or 1) - max(1, settings.workers)))
    torch.set_num_threads(max(1, threads))
    try:
        return _run(Path(out), device, quick, seed, settings, progress)
    finally:
        torch.set_num_threads(previous)


def _run(out: Path, device: str, quick: bool, seed: int, settings: DemoSettings, progress: bool) -> DemoResult:
    from rich.console import Console

    from .devices import resolve_device

    target = resolve_device(device)
    _prepare_out(out)
    console = Console(stderr=True, quiet=not progress)
    steps = _Steps(console, total=9)
    cpu_start = _cpu_seconds()
    config = demo_config(settings, seed, target.type)
    data_dir, runs_dir = out / "data", out / "runs"
    console.print(
        f"[bold]pkdkit demo[/bold] -> {out} ({'quick' if quick and settings == QUICK else 'full'}, "
        f"device {target.type}, seed {seed}, {torch.get_num_threads()} torch threads)"
    )

    with steps.step("render the synthetic videos") as note:
        from .data import synth_dataset

        synth = synth_dataset(
            data_dir, settings.classes, settings.videos_per_class, frames=settings.frames,
            size=settings.size, seed=seed, progress=progress,
            workers=1 if settings.workers == 0 else None,  # tiny sets: no process start-up
        )
        n_test = sum(v.is_test for v in synth.videos)
        note["text"] = f"{len(synth.videos) - n_test} train + {n_test} test videos, {settings.classes} classes"
    if settings.workers != 0:
        # The encoders ran in a process pool under a fork server: not our children, so their CPU
        # time never reaches getrusage(RUSAGE_CHILDREN). Say "not measured" rather than ~0.
        steps.cpu["render the synthetic videos"] = math.nan

    backbones = _train_backbones(steps, data_dir, runs_dir, config, progress)
    ic_runs = _train_ics(steps, data_dir, runs_dir, config, progress)
    flatness = _measure_flatness(steps, data_dir, runs_dir, out, settings, seed, target.type, progress)
    logits = _save_logits(steps, data_dir, ic_runs, out / "logits", target, progress)
    tradeoff = _fit_wise(steps, logits, out, settings, target)

    with steps.step("write the report") as note:
        _combine_curves(runs_dir, out / "curves.png", chance=1.0 / settings.classes)
        results = {
            "settings": {**asdict(settings), "seed": seed, "device": target.type, "quick": quick},
            "chance": 1.0 / settings.classes,
            "videos": {"train": len(synth.videos) - n_test, "test": n_test},
            "backbones": backbones,
            "accuracy": _accuracy_table(logits),
            "flatness": flatness,
            "tradeoff": tradeoff,
            "step_seconds": {k: round(v, 2) for k, v in steps.durations.items()},
            "step_cpu_seconds": {k: None if math.isnan(v) else round(v, 2) for k, v in steps.cpu.items()},
            "wall_seconds": round(steps.elapsed(), 1),
            "cpu_seconds": round(_cpu_seconds() - cpu_start, 1),
        }
        (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
        report = out / "report.md"
        report.write_text(render_report(results))
        note["text"] = str(report)
    console.print(
        f"[bold green]demo finished[/bold green] in {steps.elapsed():.1f} s "
        f"({results['cpu_seconds']:.0f} s CPU): {report}"
    )
    return DemoResult(out, report, results)


def _datasets(data_dir: Path, modality: str, fused: bool, config: dict) -> TrainingData:
    """The demo's datasets: :func:`pkdkit.train.data.open_datasets` on its one split."""
    return open_datasets(data_dir, 1, modality=modality, fused=fused, config=config)


def _train_backbones(steps: _Steps, data_dir: Path, runs_dir: Path, config: dict, progress: bool) -> dict:
    from .train import train_backbone

    summaries = {}
    for modality in MODALITIES:
        with steps.step(f"train the {MODALITY_NAMES[modality]} network") as note:
            data = _datasets(data_dir, modality, False, config)
            summary = train_backbone(
                runs_dir / modality, modality=modality, train_set=data.train, test_set=data.test,
                num_classes=data.num_classes, config=config, progress=progress,
            )
            summaries[modality] = summary
            note["text"] = f"exit-4 test accuracy {100 * summary['test_acc_exit4']:.1f} %"
    return summaries


def _train_ics(steps: _Steps, data_dir: Path, runs_dir: Path, config: dict, progress: bool) -> dict:
    from .train import train_ics

    teachers = {m: runs_dir / m for m in MODALITIES}
    runs: dict[str, dict[str, Path]] = {method: {} for method in IC_METHODS}
    with steps.step("train the internal classifiers by CE and by PKD") as note:
        for modality in MODALITIES:
            # One fused training set (all three modalities of the same GOPs) serves both methods.
            data = _datasets(data_dir, modality, True, config)
            for method in IC_METHODS:
                run = runs_dir / f"{modality}-{method}"
                train_ics(
                    run, method=method, backbone=runs_dir / modality, train_set=data.train,
                    test_set=data.test, teachers=teachers if method == "pkd" else None, config=config,
                    progress=progress,
                )
                runs[method][modality] = run
        note["text"] = "6 runs (PKD teachers: MV net, residual net, self)"
    return runs


def _measure_flatness(
    steps: _Steps, data_dir: Path, runs_dir: Path, out: Path, settings: DemoSettings, seed: int,
    device: str, progress: bool,
) -> dict:
    from .flatness import MeasureOptions, measure_runs

    with steps.step("measure the flatness of the three backbones") as note:
        options = MeasureOptions(
            # tol: relative residual 1e-2 puts the Ritz value well within 1 % of lambda_max.
            metrics=("eigenvalues", "trace", "landscape"), top_k=1, tol=1e-2, probes=settings.probes,
            points_1d=settings.landscape_points, points_2d=0, seed=seed,
        )
        report = measure_runs(
            [runs_dir / m for m in MODALITIES], data_dir, 1, out / "flatness", options,
            samples=settings.flatness_samples, batch_size=settings.flatness_samples, device=device,
        )
        shutil.copyfile(out / "flatness" / "landscape1d.png", out / "landscape1d.png")
        table = {}
        for modality in MODALITIES:
            entry = report["runs"][modality]
            losses = entry["landscape"]["losses"]
            table[modality] = {
                "top_eigenvalue": float(entry["eigenvalues"]["values"][0]),
                "eigenvalue_converged": bool(entry["eigenvalues"]["converged"]),
                "trace": float(entry["trace"]["mean"]),
                "trace_stderr": float(entry["trace"]["stderr"]),
                "loss_at_minimum": float(losses[len(losses) // 2]),
                "loss_at_edges": float(max(losses[0], losses[-1])),
                "samples": int(entry["samples"]),
            }
        note["text"] = ", ".join(f"{m} lambda_max {t['top_eigenvalue']:.3g}" for m, t in table.items())
    return table


def _save_logits(steps: _Steps, data_dir: Path, ic_runs: dict, out: Path, device: Any, progress: bool) -> dict:
    from .evaluate import save_logits
    from .inference import compute_logits

    out.mkdir(parents=True, exist_ok=True)
    logits = {}
    with steps.step("save the 12-exit logits of train and test") as note:
        for method in IC_METHODS:
            for which in ("train", "test"):
                data = compute_logits(ic_runs[method], data_dir, 1, which, device=device, progress=progress)
                save_logits(out / f"{method}_{which}.npz", data)
                logits[(method, which)] = data
        note["text"] = f"{out}/{{ce,pkd}}_{{train,test}}.npz"
    return logits


def _fit_wise(steps: _Steps, logits: dict, out: Path, settings: DemoSettings, device: Any) -> dict:
    from . import wise
    from .evaluate import plot_tradeoff, report_markdown

    folder = out / "wise"
    folder.mkdir(parents=True, exist_ok=True)
    with steps.step("fit WISE and sweep exit thresholds") as note:
        curves: dict[str, list] = {}
        for method in reversed(IC_METHODS):  # PKD first: the method's own curve leads the table
            train, test = logits[(method, "train")], logits[(method, "test")]
            model = wise.fit(train.logits, train.labels, train.costs, iterations=settings.wise_iterations,
                             device=device)
            model.save(folder / f"wise_{method}.json")
            curves[f"WISE, {method.upper()} ICs"] = model.tradeoff(test.logits, test.labels, THRESHOLDS)
        test = logits[("pkd", "test")]
        report = {
            "curves": curves,
            "baselines": {"CoViAR 2:1:1": wise.coviar_fusion(test.logits, test.labels, test.costs, test.names)},
        }
        (folder / "tradeoff.json").write_text(json.dumps(report, indent=1) + "\n")
        (folder / "tradeoff.md").write_text(report_markdown(report, 1e6, "MMACs"))
        plot_tradeoff(report, out / "tradeoff.png", 1e6, "MMACs")
        best = curves["WISE, PKD ICs"][-1]
        note["text"] = f"PKD ICs, all exits: {100 * best['accuracy']:.1f} %"
    return report


def _accuracy_table(logits: dict) -> dict:
    """``{modality: {method: [exit1..exit4 accuracy]}}`` on the test set, as fractions."""
    from .evaluate import per_exit_accuracy
    from .inference import CASCADE_MODALITIES

    table: dict[str, dict[str, list[float]]] = {m: {} for m in MODALITIES}
    for method in IC_METHODS:
        acc = per_exit_accuracy(logits[(method, "test")])
        for prefix, modality in CASCADE_MODALITIES:
            table[modality][method] = [acc[f"{prefix}{k}"] for k in range(1, 5)]
    return table


def _combine_curves(runs_dir: Path, path: Path, chance: float) -> None:
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
    from .evaluate import report_markdown

    s = results["settings"]
    chance = results["chance"]
    lines = [
        "# pkdkit demo report",
        "",
        f"Synthetic data (`pkdkit synth`): {s['classes']} classes (motion patterns), "
        f"{results['videos']['train']} training and {results['videos']['test']} test videos of "
        f"{s['frames']} frames at {s['size'][0]}x{s['size'][1]}; networks `resnet10_tiny` on "
        f"{s['num_segments']} segments of {s['input_size']}x{s['input_size']}, trained from scratch "
        f"({s['backbone_epochs']} backbone epochs, {s['ic_epochs']} IC epochs), seed {s['seed']}, "
        f"device {s['device']}{' (quick variant)' if s['quick'] else ''}.",
        "",
        f"**Chance level: {_pct(chance)} %** (1/{s['classes']} classes). All accuracies are top-1 on "
        "the test split, in %.",
        "",
        "## Per-exit accuracy, CE vs PKD",
        "",
        "Exits 1-3 are the internal classifiers (trained with the backbone frozen), exit 4 the "
        "backbone's own classifier (identical for both methods). PKD teachers: the MV network, then "
        "the residual network, then the network's own final exit. The synthetic classes differ only in "
        "motion: textures, shapes and places are drawn the same way for every class, so the I-frame "
        "network is expected near chance, while the MV and residual networks should be well above it.",
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
        "filter-normalised random direction, alpha in [-1, 1].",
        "",
        "| modality | top Hessian eigenvalue | Hessian trace (Hutchinson) | loss at minimum "
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


def with_overrides(settings: DemoSettings, **changes: Any) -> DemoSettings:
    """A copy of ``settings`` with some fields changed (for experiments and tests)."""
    return replace(settings, **changes)
