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
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch

from ..train.data import TrainingData, open_datasets
from ._names import IC_METHODS, MODALITIES, MODALITY_NAMES
from .report import combine_curves, render_report

__all__ = ["DemoSettings", "DemoResult", "FULL", "QUICK", "run_demo", "run_demo_seeds", "demo_config"]

THRESHOLDS = (0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999, 1.0)
MARKER = ".pkdkit-demo"  # marks a folder as a demo output that a later demo may overwrite
OUTPUTS = ("data", "runs", "flatness", "logits", "wise", "report.md", "curves.png", "tradeoff.png",
           "landscape1d.png", "results.json")


@dataclass(frozen=True)
class DemoSettings:
    """Sizes of one demo run.

    Attributes:
        classes: synthetic classes (the first ones of the preset).
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
        preset: the synthetic data (:data:`pkdkit.data.synth.PRESETS`): ``"actions"``
            (appearance informative, motion decisive) or ``"motion"`` (classes differ in motion only).
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
    preset: str = "actions"


#: The full demo on the ``actions`` preset: 8 classes, 384 videos (256 train, 128 test).
FULL = DemoSettings(
    classes=8,
    videos_per_class=48,
    frames=36,
    size=(128, 96),
    num_segments=3,
    input_size=64,
    backbone_epochs=30,
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
    from ..train import load_config

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


def _refuse_foreign(out: Path) -> None:
    """Raises unless ``out`` is missing, empty or a previous demo output."""
    if out.exists() and not out.is_dir():
        raise FileNotFoundError(f"{out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise ValueError(f"{out}: folder is not empty and not a previous demo output; choose another --out")


def _prepare_out(out: Path, outputs: tuple[str, ...] = OUTPUTS) -> None:
    """Creates ``out``; a previous demo's outputs in it are replaced, anything else is refused."""
    _refuse_foreign(out)
    out.mkdir(parents=True, exist_ok=True)
    for name in outputs:
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
    from ..devices import resolve_device

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


def run_demo_seeds(
    out: str | Path,
    seeds: Sequence[int],
    device: str = "auto",
    quick: bool = False,
    *,
    settings: DemoSettings | None = None,
    progress: bool = True,
    threads: int | None = None,
) -> tuple[list[DemoResult], Path]:
    """:func:`run_demo` once per seed into ``out/seed-<seed>``, then the paired statistics over
    seeds (:mod:`pkdkit.demo.summary`) into ``out/summary.md`` and ``out/summary.json``.

    Resumes: a seed whose folder already holds a finished run (``results.json`` and
    ``report.md``) with the same settings and device is kept, not rerun; an unfinished or
    different one is run again. Other previous outputs in ``out`` are replaced.

    Args:
        out: output folder.
        seeds: the seeds, at least one, all different.
        device, quick, settings, progress, threads: as for :func:`run_demo`.

    Returns:
        The runs and the path of ``summary.md``.

    Raises:
        ValueError: no seeds, a repeated seed, or as :func:`run_demo`.
    """
    from rich.console import Console

    from ..devices import resolve_device
    from .summary import write_summary

    seeds = [int(s) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"--seeds: need distinct seeds, got {seeds}")
    settings = settings or (QUICK if quick else FULL)
    device_type = resolve_device(device).type
    out = Path(out)
    _refuse_foreign(out)  # before anything is read from it
    kept = {s: finished_run(out / f"seed-{s}", settings, s, quick, device_type) for s in seeds}
    old = tuple(p.name for p in out.glob("seed-*")) if out.is_dir() else ()
    stale = tuple(name for name in old if not any(name == f"seed-{s}" and kept[s] for s in seeds))
    _prepare_out(out, (*OUTPUTS, *stale, "summary.md", "summary.json"))
    console = Console(stderr=True, quiet=not progress)
    results = []
    for s in seeds:
        done = kept[s]
        if done is not None:
            console.print(f"seed {s}: a finished run with these settings is in {done.out}; kept, not rerun")
            results.append(done)
        else:
            results.append(run_demo(out / f"seed-{s}", device, quick, seed=s, settings=settings, progress=progress,
                                    threads=threads))
    write_summary([r.out for r in results], out)
    return results, out / "summary.md"


def finished_run(folder: Path, settings: DemoSettings, seed: int, quick: bool, device_type: str) -> DemoResult | None:
    """The finished demo run in ``folder`` if it was made with exactly these settings, else None."""
    results_path, report = folder / "results.json", folder / "report.md"
    if not (results_path.is_file() and report.is_file()):
        return None
    try:
        results = json.loads(results_path.read_text())
    except (OSError, ValueError):
        return None
    # Through JSON, so tuples and lists compare equal.
    wanted = json.loads(json.dumps({**asdict(settings), "seed": seed, "device": device_type, "quick": quick}))
    if not isinstance(results, dict) or results.get("settings") != wanted:
        return None
    return DemoResult(folder, report, results)


def _run(out: Path, device: str, quick: bool, seed: int, settings: DemoSettings, progress: bool) -> DemoResult:
    from rich.console import Console

    from ..devices import resolve_device

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
        from ..data import synth_dataset

        synth = synth_dataset(
            data_dir, settings.classes, settings.videos_per_class, frames=settings.frames,
            size=settings.size, seed=seed, progress=progress, preset=settings.preset,
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
        combine_curves(runs_dir, out / "curves.png", chance=1.0 / settings.classes)
        results = {
            "settings": {**asdict(settings), "seed": seed, "device": target.type, "quick": quick},
            "chance": 1.0 / settings.classes,
            "videos": {"train": len(synth.videos) - n_test, "test": n_test},
            "backbones": backbones,
            "accuracy": _accuracy_table(logits),
            "flatness": flatness,
            "tradeoff": tradeoff,
            # label -> {"auc", "acc_at_25", ...}: what `pkdkit compare` puts intervals on.
            "tradeoff_metrics": tradeoff.get("metrics", {}),
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
    from ..train import train_backbone

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
    from ..train import train_ics

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
    from ..flatness import MeasureOptions, measure_runs

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
                "trace_method": str(entry["trace"].get("method", "hutchinson")),
                "loss_at_minimum": float(losses[len(losses) // 2]),
                "loss_at_edges": float(max(losses[0], losses[-1])),
                "samples": int(entry["samples"]),
            }
        note["text"] = ", ".join(f"{m} lambda_max {t['top_eigenvalue']:.3g}" for m, t in table.items())
    return table


def _save_logits(steps: _Steps, data_dir: Path, ic_runs: dict, out: Path, device: Any, progress: bool) -> dict:
    from ..evaluate import save_logits
    from ..inference import compute_logits

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
    """WISE fitted on each IC variant's train logits, swept on its test logits, with the trade-off
    metrics and the confidence-exit (SDN) baseline on the same logits (:func:`evaluate.tradeoff_report`)."""
    from .. import wise
    from ..evaluate import CONFIDENCE_LABEL, plot_tradeoff, report_markdown, tradeoff_report

    folder = out / "wise"
    folder.mkdir(parents=True, exist_ok=True)
    with steps.step("fit WISE and sweep exit thresholds") as note:
        pkd_test = logits[("pkd", "test")]
        baselines = {"CoViAR 2:1:1": wise.coviar_fusion(pkd_test.logits, pkd_test.labels, pkd_test.costs,
                                                          pkd_test.names)}
        report: dict[str, Any] = {"curves": {}, "baselines": baselines, "metrics": {}, "settings": {}}
        for method in reversed(IC_METHODS):  # PKD first: the method's own curve leads the table
            train, test = logits[(method, "train")], logits[(method, "test")]
            model = wise.fit(train.logits, train.labels, train.costs, iterations=settings.wise_iterations,
                             device=device)
            model.save(folder / f"wise_{method}.json")
            label = f"WISE, {method.upper()} ICs"
            part = tradeoff_report({label: model}, test, THRESHOLDS, baselines if method == "pkd" else None)
            # The confidence-exit baseline runs on each variant's own logits: name it after them.
            rename = {CONFIDENCE_LABEL: f"{CONFIDENCE_LABEL}, {method.upper()} ICs"}
            report["curves"].update({rename.get(k, k): v for k, v in part["curves"].items()})
            report["metrics"].update({rename.get(k, k): v for k, v in part["metrics"].items()})
            report["settings"].update(part["settings"])
            if method == "pkd":
                report["full_cost"], report["cost_rules"] = part["full_cost"], part["cost_rules"]
        (folder / "tradeoff.json").write_text(json.dumps(report, indent=1) + "\n")
        (folder / "tradeoff.md").write_text(report_markdown(report, 1e6, "MMACs"))
        plot_tradeoff(report, out / "tradeoff.png", 1e6, "MMACs")
        best = report["curves"]["WISE, PKD ICs"][-1]
        note["text"] = f"PKD ICs, all exits: {100 * best['accuracy']:.1f} %"
    return report


def _accuracy_table(logits: dict) -> dict:
    """``{modality: {method: [exit1..exit4 accuracy]}}`` on the test set, as fractions."""
    from ..evaluate import per_exit_accuracy
    from ..inference import CASCADE_MODALITIES

    table: dict[str, dict[str, list[float]]] = {m: {} for m in MODALITIES}
    for method in IC_METHODS:
        acc = per_exit_accuracy(logits[(method, "test")])
        for prefix, modality in CASCADE_MODALITIES:
            table[modality][method] = [acc[f"{prefix}{k}"] for k in range(1, 5)]
    return table


def with_overrides(settings: DemoSettings, **changes: Any) -> DemoSettings:
    """A copy of ``settings`` with some fields changed (for experiments and tests)."""
    return replace(settings, **changes)
