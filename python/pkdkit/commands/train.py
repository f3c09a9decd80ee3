"""``pkdkit train``: train a modality's backbone, then its internal classifiers (CE or PKD)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import click

from ..vocabulary import MODALITIES

_DEVICES = click.Choice(["auto", "cpu", "cuda"])
_MODALITIES = click.Choice(MODALITIES)


def _common(fn):
    """Options shared by both stages."""
    options = [
        click.option("--data", "data", required=True, type=click.Path(exists=True, file_okay=False),
                     help="A prepared dataset (datalists/) or a `pkdkit synth` folder."),
        click.option("--split", type=int, default=1, show_default=True, help="Official split number."),
        click.option("--out", required=True, type=click.Path(file_okay=False), help="Run directory to write."),
        click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
                     help="TOML recipe merged over the defaults (see configs/)."),
        click.option("--epochs", type=int, help="Override the recipe's epochs."),
        click.option("--batch-size", type=int, help="Override the recipe's global batch size."),
        click.option("--lr", type=float, help="Override the recipe's learning rate."),
        click.option("--workers", type=int, help="DataLoader worker processes."),
        click.option("--seed", type=int, help="Override the recipe's seed."),
        click.option("--device", type=_DEVICES, default=None, help="Where to train [recipe default: auto]."),
        click.option("--resume", is_flag=True, help="Continue the run in --out from its last checkpoint."),
        click.option("--drop-missing", is_flag=True,
                     help="Leave out listed videos that do not exist (warned, and recorded in summary.json) "
                          "instead of failing."),
        click.option("--quiet", is_flag=True, help="No progress bars."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _overrides(stage: str, modality: str | None, **values: Any) -> dict[str, Any]:
    """Nested config overrides from options; stage values go to the modality's table (they win there)."""
    run = {k: values[k] for k in ("seed", "device", "workers") if values.get(k) is not None}
    stage_values = {k: values[k] for k in ("epochs", "batch_size", "lr") if values.get(k) is not None}
    stage_values.update(values.get("extra") or {})
    out: dict[str, Any] = {"data": {"split": values["split"]}} if values.get("split") else {}
    if values.get("drop_missing"):
        out.setdefault("data", {})["missing"] = "drop"
    if run:
        out["run"] = run
    if stage_values:
        out[stage] = {modality: stage_values} if modality else stage_values
    return out


@click.group()
def train() -> None:
    """Train multi-exit networks: `backbone` (CE on the final exit), then `ics` (CE or PKD)."""


@train.command()
@click.option("--modality", required=True, type=_MODALITIES, help="Which representation the network reads.")
@click.option("--arch", help="Architecture (e.g. resnet18, resnet50, resnet10_tiny) [recipe default].")
@click.option("--pretrained", type=click.Path(exists=True, dir_okay=False),
              help="A torchvision ResNet state dict to start from (ImageNet/Kinetics weights you have).")
@_common
def backbone(modality: str, arch: str | None, pretrained: str | None, data: str, split: int, out: str,
             config_path: str | None, resume: bool, quiet: bool, **values: Any) -> None:
    """Train one modality's network by cross-entropy (CoViAR's recipe: Adam, lr multipliers, steps).

    Writes OUT/checkpoint.pt (resumable with --resume), config.toml, metrics.jsonl/.csv,
    curves.png and summary.json, and prints the test accuracy of every exit.
    """
    from ..train import load_config, train_backbone
    from ..train.data import open_datasets

    _check_resumable(out, resume)
    overrides = _overrides("backbone", modality, split=split, **values)
    if arch:
        overrides.setdefault("model", {})["arch"] = {modality: arch}
    if pretrained:
        overrides.setdefault("model", {})["pretrained"] = {modality: pretrained}
    config = load_config(config_path, overrides)
    sets = open_datasets(data, split, modality=modality, fused=False, config=config)
    with _stopped_runs():
        summary = train_backbone(out, modality=modality, train_set=sets.train, test_set=sets.test,
                                 num_classes=sets.num_classes, config=config, resume=resume, progress=not quiet)
    _record_dropped(out, summary, getattr(sets, "dropped", {"train": [], "test": []}))
    _report(out, summary)


@train.command()
@click.option("--method", type=click.Choice(["pkd", "ce"]), default="pkd", show_default=True,
              help="pkd: progressive knowledge distillation; ce: the cross-entropy baseline.")
@click.option("--modality", type=_MODALITIES, help="Student modality (checked against --backbone's).")
@click.option("--backbone", "backbone_run", required=True, type=click.Path(exists=True),
              help="The student's backbone run (from `pkdkit train backbone`).")
@click.option("--teachers", default="", help="Comma-separated backbone runs of the teacher modalities.")
@click.option("--schedule", type=click.Choice(["progressive", "anti", "fixed"]),
              help="Teacher order: MV->R->self, self->R->MV, or one fixed teacher [recipe default: progressive].")
@click.option("--boundaries", help="Epochs where the teacher changes, e.g. 50,100.")
@click.option("--fixed-teacher", type=click.Choice(["iframe", "mv", "residual", "self"]),
              help="The teacher of --schedule fixed.")
@click.option("--temperature", type=float, help="Distillation temperature T [recipe default: 1].")
@click.option("--loss", "kd_loss", type=click.Choice(["soft_ce", "kl"]),
              help="soft_ce: the paper's soft-target CE; kl: Hinton's KL * T^2.")
@click.option("--drift-bn-stats", is_flag=True,
              help="Let the frozen backbone's BN statistics move, as the authors' code does.")
@_common
def ics(method: str, modality: str | None, backbone_run: str, teachers: str, schedule: str | None,
        boundaries: str | None, fixed_teacher: str | None, temperature: float | None, kd_loss: str | None,
        drift_bn_stats: bool, data: str, split: int, out: str, config_path: str | None, resume: bool,
        quiet: bool, **values: Any) -> None:
    """Train the internal classifiers of a trained network with its backbone frozen.

    With --method pkd the ICs learn from the final logits of a teacher that changes on a schedule
    (MV network, then residual network, then the network's own final exit by default); pass the
    other modalities' backbone runs with --teachers.
    """
    from ..models import read_checkpoint
    from ..train import load_config, resolve, train_ics
    from ..train.data import open_datasets

    _check_resumable(out, resume)
    student_modality = read_checkpoint(backbone_run)["model_config"]["modality"]
    if modality and modality != student_modality:
        raise click.BadParameter(f"--backbone {backbone_run} is a {student_modality} network", param_hint="--modality")
    extra: dict[str, Any] = {"method": method}
    if schedule:
        extra["schedule"] = schedule
    if boundaries:
        try:
            extra["boundaries"] = [int(b) for b in boundaries.split(",")]
        except ValueError as err:
            raise click.BadParameter(
                f"{boundaries!r}: expected two epochs like 50,100", param_hint="--boundaries"
            ) from err
    if fixed_teacher:
        extra["fixed_teacher"] = fixed_teacher
    if temperature is not None:
        extra["temperature"] = temperature
    if kd_loss:
        extra["loss"] = kd_loss
    if drift_bn_stats:
        extra["freeze_bn_stats"] = False
    config = load_config(config_path, _overrides("ics", student_modality, extra=extra, split=split, **values))
    teacher_runs = [t for t in teachers.split(",") if t]
    stage = resolve(config, "ics", student_modality)
    fused = method == "pkd" or bool(stage["fused_data"])
    sets = open_datasets(data, split, modality=student_modality, fused=fused, config=config,
                         train_size=int(stage["train_input_size"]))
    with _stopped_runs():
        summary = train_ics(out, method=method, backbone=backbone_run, teachers=teacher_runs,
                            train_set=sets.train, test_set=sets.test, config=config, resume=resume,
                            progress=not quiet)
    _record_dropped(out, summary, getattr(sets, "dropped", {"train": [], "test": []}))
    _report(out, summary)


def _check_resumable(out: str, resume: bool) -> None:
    """--resume needs a checkpoint: without one, say so instead of silently starting afresh."""
    from pathlib import Path

    from ..models import CHECKPOINT_NAME

    checkpoint = Path(out) / CHECKPOINT_NAME
    if resume and not checkpoint.is_file():
        raise click.ClickException(
            f"{checkpoint}: no checkpoint to resume from; run without --resume to start a fresh run in {out}"
        )


@contextlib.contextmanager
def _stopped_runs() -> Iterator[None]:
    """A diverged run is a user-facing error (one line, exit 1), not a traceback; under torchrun
    the process group is closed at the end."""
    import torch.distributed as dist

    from ..train import NonFiniteLossError

    try:
        yield
    except NonFiniteLossError as err:
        raise click.ClickException(str(err)) from err
    finally:
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()


def _record_dropped(out: str, summary: dict[str, Any], dropped: dict[str, list[str]]) -> None:
    """Keep the videos left out as missing in ``summary.json`` (``dropped_missing_videos``)."""
    import json
    import os
    from pathlib import Path

    summary["dropped_missing_videos"] = dropped
    path = Path(out) / "summary.json"
    if int(os.environ.get("RANK", 0)) == 0 and path.is_file():
        written = json.loads(path.read_text())
        written["dropped_missing_videos"] = dropped
        path.write_text(json.dumps(written, indent=2) + "\n")
    if any(dropped.values()):
        count = sum(len(v) for v in dropped.values())
        click.echo(f"pkdkit: warning: {count} listed video(s) did not exist and were left out "
                   f"(see {path})", err=True)


def _report(out: str, summary: dict[str, Any]) -> None:
    import os

    if int(os.environ.get("RANK", 0)) != 0:  # under torchrun, one process reports
        return
    accs = [summary.get(f"test_acc_exit{k}") for k in range(1, 5)]
    if all(a is not None for a in accs):
        click.echo("test accuracy per exit: " + ", ".join(f"exit {k + 1} {100 * a:.2f}%" for k, a in enumerate(accs)))
    click.echo(f"run written to {out}")
