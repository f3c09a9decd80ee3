"""Training-step throughput per modality, and whether the data loader keeps up.

For each modality: samples/s of a backbone CE step (forward + backward + Adam step on random
tensors of the real shape) and of a PKD step (frozen backbone, IC heads trained, a teacher's
forward); with ``--data DIR`` also samples/s of the DataLoader alone on that dataset, and the
verdict "loader-bound" when the loader delivers fewer samples/s than the step consumes.

    python benches/train_step.py                                  # tiny nets, 64x64, CPU
    python benches/train_step.py --arch paper --size 224 --device cuda --batch-size 32
    python benches/train_step.py --data /tmp/synth --workers 2   # + loader throughput

Prints a table and writes JSON with ``--json FILE``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import torch
from torch.utils.data import DataLoader

from pkdkit.models import DEFAULT_ARCH, create_model
from pkdkit.train import PKDTask, create_distill_loss, create_schedule, load_config
from pkdkit.train.distributed import resolve_device
from pkdkit.train.tasks import CETask

CHANNELS = {"iframe": 3, "mv": 2, "residual": 3}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_steps(step, batch: int, steps: int, warmup: int, device: torch.device) -> float:
    """Samples per second of ``step()`` after ``warmup`` untimed calls."""
    for _ in range(warmup):
        step()
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    return batch * steps / (time.perf_counter() - start)


def _model(arch: str, modality: str, classes: int, device: torch.device, channels_last: bool):
    name = DEFAULT_ARCH[modality] if arch == "paper" else arch
    model = create_model(name, modality=modality, num_classes=classes).to(device)
    if channels_last and device.type == "cuda":
        model.use_channels_last()
    return model


def bench_modality(modality: str, args: argparse.Namespace, device: torch.device) -> dict:
    """Backbone-CE and PKD step throughput of one modality on random inputs."""
    shape = (args.batch_size, args.segments, CHANNELS[modality], args.size, args.size)
    x = torch.randn(shape, device=device)
    y = torch.randint(0, args.classes, (args.batch_size,), device=device)
    amp = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" and args.amp else None

    model = _model(args.arch, modality, args.classes, device, args.amp)
    model.freeze_ics()
    task = CETask(model, modality, exits=(4,)).train()
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-4, eps=1e-3)

    def ce_step() -> None:
        if amp is not None:
            with torch.autocast("cuda", dtype=torch.bfloat16):
                loss = task((x, y))["loss"]
        else:
            loss = task((x, y))["loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    ce = time_steps(ce_step, args.batch_size, args.steps, args.warmup, device)

    # PKD: the I-frame/residual student learns from the MV net; the MV student from the residual net.
    teacher_modality = "residual" if modality == "mv" else "mv"
    teacher = _model(args.arch, teacher_modality, args.classes, device, args.amp).eval()
    model.freeze_backbone()
    batch = {
        modality: x,
        teacher_modality: torch.randn(
            args.batch_size, args.segments, CHANNELS[teacher_modality], args.size, args.size, device=device
        ),
        "label": y,
    }
    pkd = PKDTask(
        model,
        modality,
        {teacher_modality: teacher},
        create_schedule("fixed", fixed_teacher=teacher_modality),
        create_distill_loss("soft_ce"),
    ).train()
    pkd.set_epoch(0)
    ic_opt = torch.optim.Adam(model.ics.parameters(), lr=1e-3, eps=1e-3)

    def pkd_step() -> None:
        if amp is not None:
            with torch.autocast("cuda", dtype=torch.bfloat16):
                loss = pkd(batch)["loss"]
        else:
            loss = pkd(batch)["loss"]
        ic_opt.zero_grad(set_to_none=True)
        loss.backward()
        ic_opt.step()

    kd = time_steps(pkd_step, args.batch_size, args.steps, args.warmup, device)
    return {"modality": modality, "backbone_step_samples_per_s": ce, "pkd_step_samples_per_s": kd}


def bench_loader(modality: str, args: argparse.Namespace, fused: bool) -> float:
    """Samples per second of the training DataLoader alone on ``--data``."""
    from pkdkit.train.data import open_datasets

    config = load_config(None, {"data": {"num_segments": args.segments, "input_size": args.size}})
    sets = open_datasets(args.data, args.split, modality=modality, fused=fused, config=config)
    loader = DataLoader(
        sets.train,
        batch_size=args.batch_size,
        shuffle=True,
        num_workers=args.workers,
        drop_last=True,
        persistent_workers=args.workers > 0,
        collate_fn=getattr(sets.train, "collate", None),  # as the training loop collates
    )
    batches = max(1, min(args.loader_batches, len(loader)))
    it = iter(loader)
    next(it)  # worker start-up is not throughput
    start, n = time.perf_counter(), 0
    for _ in range(batches):
        try:
            b = next(it)
        except StopIteration:
            it = iter(loader)
            b = next(it)
        n += len(b["label"] if isinstance(b, dict) else b[1])
    return n / (time.perf_counter() - start)


def _cell(value: float | bool | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "loader" if value else "compute"
    return f"{value:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default="resnet10_tiny", help="'paper' = ResNet-50 I / ResNet-18 MV,R")
    parser.add_argument("--modalities", default="iframe,mv,residual")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--segments", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--no-amp", dest="amp", action="store_false", help="no bf16 autocast/channels_last on CUDA")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--data", help="a prepared or synth dataset folder: also time the loader")
    parser.add_argument("--split", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--loader-batches", type=int, default=10)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    torch.manual_seed(0)
    rows = []
    for modality in args.modalities.split(","):
        row = bench_modality(modality, args, device)
        if args.data:
            row["loader_samples_per_s"] = bench_loader(modality, args, fused=False)
            row["fused_loader_samples_per_s"] = bench_loader(modality, args, fused=True)
            row["backbone_loader_bound"] = row["loader_samples_per_s"] < row["backbone_step_samples_per_s"]
            row["pkd_loader_bound"] = row["fused_loader_samples_per_s"] < row["pkd_step_samples_per_s"]
        rows.append(row)

    from rich.console import Console
    from rich.table import Table

    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU x{torch.get_num_threads()} threads"
    table = Table(title=f"training step, {args.arch}, {args.batch_size}x{args.segments}x{args.size}^2, {where}")
    columns = ("modality", "backbone step/s", "loader/s", "backbone bound", "PKD step/s", "fused loader/s", "PKD bound")
    for col in columns:
        table.add_column(col, justify="right")
    keys = (
        "backbone_step_samples_per_s",
        "loader_samples_per_s",
        "backbone_loader_bound",
        "pkd_step_samples_per_s",
        "fused_loader_samples_per_s",
        "pkd_loader_bound",
    )
    for r in rows:
        table.add_row(r["modality"], *(_cell(r.get(k)) for k in keys))
    Console().print(table)
    if args.json:
        meta = {"device": where, "torch": torch.__version__, "python": platform.python_version(), **vars(args)}
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
