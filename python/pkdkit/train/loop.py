"""The epoch loop shared by every stage: train, evaluate each exit, log, checkpoint, resume."""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from ..models import CHECKPOINT_NAME, MultiExitNet
from .checkpoint import rng_state, save_atomic, set_rng_state
from .config import dump_toml
from .distributed import ShardSampler, all_reduce_sum, dist_info
from .metrics import MetricsLog, plot_curves
from .tasks import unpack_batch

__all__ = ["FitOptions", "NonFiniteLossError", "fit", "evaluate", "to_device"]


_EXIT_KEYS = tuple(f"test_acc_exit{k}" for k in range(1, 5))


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite; the run stopped, the last good checkpoint kept."""


@dataclass
class FitOptions:
    """How :func:`fit` runs.

    Attributes:
        epochs: total epochs of the run (a resumed run continues up to this).
        batch_size: global batch size (split evenly over DDP processes).
        test_batch_size: evaluation batch size per process (0: ``batch_size``).
        seed: base seed of shuffling and worker RNGs.
        workers: DataLoader worker processes.
        device: where to train.
        eval_every: evaluate on the test set every this many epochs (and after the last).
        amp: bf16 autocast on CUDA.
        resume: continue from ``out_dir/checkpoint.pt`` if there is one.
        progress: show rich progress bars (main process only).
        title: a label for logs, plots and messages (e.g. ``"mv backbone"``).
        config: the resolved config, written to ``config.toml`` and into checkpoints.
        step_hook: called as ``hook(epoch, step)`` before each step (tests use it to simulate kills).
    """

    epochs: int
    batch_size: int
    test_batch_size: int = 0
    seed: int = 4711
    workers: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    eval_every: int = 1
    amp: bool = True
    resume: bool = False
    progress: bool = True
    title: str = ""
    config: Mapping[str, Any] = field(default_factory=dict)
    step_hook: Callable[[int, int], None] | None = None


def to_device(batch: Any, device: torch.device) -> Any:
    """Moves every tensor of a (nested) batch to ``device``; a fused batch of uint8 pictures
    (``FusedDataset``'s default) is then normalised there (:func:`pkdkit.data.normalize_batch`),
    so the pictures travel as uint8 and the float work runs on the training device."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, Mapping):
        from ..data.transforms import normalize_batch

        return normalize_batch({k: to_device(v, device) for k, v in batch.items()})
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(v, device) for v in batch)
    return batch


def _autocast(device: torch.device, amp: bool) -> contextlib.AbstractContextManager:
    if amp and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: DataLoader,
    modality: str,
    device: torch.device,
    *,
    amp: bool = True,
) -> dict[str, float]:
    """Top-1 accuracy of every exit and the final exit's CE loss on a data loader.

    Sums are reduced over DDP processes, so with a :class:`ShardSampler` the result covers the
    whole set exactly once.

    Returns:
        ``{"test_acc_exit1": ..., ..., "test_acc_exit4": ..., "test_loss": ..., "test_samples": n}``.
    """
    was_training = model.training
    model.eval()
    correct = [0.0] * 4
    loss_sum, n = 0.0, 0.0
    for batch in loader:
        x, y = unpack_batch(to_device(batch, device), modality)
        with _autocast(device, amp):
            logits = model(x)
        for k, z in enumerate(logits):
            correct[k] += (z.argmax(dim=1) == y).sum().item()
        loss_sum += torch.nn.functional.cross_entropy(logits[-1].float(), y, reduction="sum").item()
        n += y.numel()
    model.train(was_training)
    *correct, loss_sum, n = all_reduce_sum([*correct, loss_sum, n], device)
    if n == 0:
        raise ValueError("the test set is empty")
    out = {f"test_acc_exit{k + 1}": c / n for k, c in enumerate(correct)}
    out.update(test_loss=loss_sum / n, test_samples=int(n))
    return out


def _progress(enabled: bool):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[status]}"),
        disable=not enabled,
        transient=False,
    )


def fit(
    task: nn.Module,
    model: MultiExitNet,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    train_set: Dataset,
    test_set: Dataset | None,
    out_dir: str | Path,
    options: FitOptions,
) -> dict[str, Any]:
    """Runs (or resumes) a training run and writes it to ``out_dir``.

    Each epoch: the task's teacher is set, one pass over ``train_set`` (shuffled with a seed that
    depends only on ``seed`` and the epoch, sharded over DDP processes), the lr schedule steps,
    the test set is evaluated per exit, the record goes to ``metrics.jsonl``/``metrics.csv`` and
    the full state (model, optimiser, scheduler, RNG states, epoch) to ``checkpoint.pt``
    atomically. After the last epoch ``curves.png`` and ``summary.json`` are written.

    Args:
        task: a :class:`~pkdkit.train.tasks.CETask` or :class:`~pkdkit.train.tasks.PKDTask`
            whose ``model`` is ``model`` or its DDP wrapper.
        model: the unwrapped network (what is saved).
        optimizer: its optimiser.
        scheduler: its lr schedule, stepped once per epoch.
        train_set: yields ``(inputs, label)`` or a fused dict.
        test_set: evaluated per exit; None to skip evaluation.
        out_dir: the run directory (created).
        options: see :class:`FitOptions`.

    Returns:
        The summary: final test accuracy per exit, epochs, throughput.

    Raises:
        NonFiniteLossError: the loss became NaN/inf (the last good checkpoint is kept).
        ValueError: ``out_dir`` already holds a checkpoint and ``resume`` is off, or a bad option.
    """
    info = dist_info()
    out = Path(out_dir)
    device = options.device
    ckpt_path = out / CHECKPOINT_NAME
    if options.batch_size % info.world:
        raise ValueError(f"batch size {options.batch_size} is not divisible by {info.world} processes")
    if info.is_main:
        out.mkdir(parents=True, exist_ok=True)
    log = MetricsLog(out)
    start_epoch = _restore(model, optimizer, scheduler, ckpt_path, options.resume, log, info.is_main)
    if info.is_main and options.config:
        (out / "config.toml").write_text(dump_toml(options.config))
    loader, sampler, loader_rng, test_loader = _loaders(train_set, test_set, options, info)

    record: dict[str, Any] = {}
    with _progress(options.progress and info.is_main) as bars:
        epoch_bar = bars.add_task(options.title or "training", total=options.epochs, status="")
        bars.update(epoch_bar, completed=start_epoch)
        for epoch in range(start_epoch, options.epochs):
            record = _train_epoch(task, optimizer, loader, sampler, loader_rng, epoch, options, bars, ckpt_path)
            record["lr"] = max(g["lr"] for g in optimizer.param_groups)
            scheduler.step()
            last = epoch + 1 == options.epochs
            if test_loader is not None and (last or (epoch + 1) % max(1, options.eval_every) == 0):
                record.update(evaluate(model, test_loader, model.modality, device, amp=options.amp))
            _check_finite_weights(model, epoch, options.title, ckpt_path)
            if info.is_main:
                log.append(record)
                save_atomic(_checkpoint_state(model, optimizer, scheduler, epoch + 1, options), ckpt_path)
            if info.world > 1:
                dist.barrier()
            accs = " ".join(f"{100 * record[k]:.1f}" for k in _EXIT_KEYS if k in record)
            status = f"loss {record['train_loss']:.3f}" + (f" acc {accs}" if accs else "")
            bars.update(epoch_bar, advance=1, status=status)

    records = log.records() if info.is_main else []
    if not record and records:  # resuming a finished run: report its last epoch
        record = records[-1]
    summary = {
        "title": options.title,
        "epochs": options.epochs,
        "seed": options.seed,
        "reported": "last epoch",  # no best-epoch selection on the test split
        **{k: v for k, v in record.items() if k.startswith("test_")},
        "train_samples_per_s": record.get("samples_per_s"),
    }
    if info.is_main and records:
        plot_curves(records, out / "curves.png", title=options.title)
        (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _restore(
    model: MultiExitNet,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    ckpt_path: Path,
    resume: bool,
    log: MetricsLog,
    is_main: bool,
) -> int:
    """Loads ``ckpt_path`` into the run's objects when resuming; returns the epoch to start from.

    The metrics log is cut back to the checkpoint's epoch (or emptied for a fresh run), so a run
    killed after logging but before checkpointing does not log that epoch twice.

    Raises:
        ValueError: a checkpoint exists and ``resume`` is off.
    """
    if not ckpt_path.is_file():
        if is_main:
            log.truncate(0)
        return 0
    if not resume:
        raise ValueError(f"{ckpt_path} exists: pass --resume to continue that run, or choose another --out")
    state = torch.load(ckpt_path, map_location="cpu", weights_only=True)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    set_rng_state(state["rng"])
    start_epoch = int(state["epoch"])
    if is_main:
        log.truncate(start_epoch)
    return start_epoch


def _loaders(
    train_set: Dataset, test_set: Dataset | None, options: FitOptions, info: Any
) -> tuple[DataLoader, DistributedSampler, torch.Generator, DataLoader | None]:
    """The training loader (its sampler and seeded generator, re-seeded every epoch) and the test
    loader (each DDP process reads its own shard once)."""
    local_batch = options.batch_size // info.world
    sampler = DistributedSampler(
        train_set, num_replicas=info.world, rank=info.rank, shuffle=True, seed=options.seed, drop_last=False
    )
    loader_rng = torch.Generator()
    pin = options.device.type == "cuda"
    loader = DataLoader(
        train_set,
        batch_size=local_batch,
        sampler=sampler,
        num_workers=options.workers,
        generator=loader_rng,
        pin_memory=pin,
        drop_last=False,
        # FusedDataset's batches are built in shared memory by the worker: collated without a copy.
        collate_fn=getattr(train_set, "collate", None),
    )
    test_loader = None
    if test_set is not None:
        test_loader = DataLoader(
            test_set,
            batch_size=options.test_batch_size or local_batch,
            sampler=ShardSampler(len(test_set), info.rank, info.world),
            num_workers=options.workers,
            pin_memory=pin,
        )
    return loader, sampler, loader_rng, test_loader


def _checkpoint_state(
    model: MultiExitNet,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    epochs_done: int,
    options: FitOptions,
) -> dict[str, Any]:
    """Everything a bit-identical resume needs after ``epochs_done`` epochs."""
    return {
        "format": "pkdkit-run-1",
        "model_config": model.config,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "rng": rng_state(),
        "epoch": epochs_done,
        "config": dict(options.config),
        "title": options.title,
    }


def _train_epoch(
    task: nn.Module,
    optimizer: torch.optim.Optimizer,
    loader: DataLoader,
    sampler: DistributedSampler,
    loader_rng: torch.Generator,
    epoch: int,
    options: FitOptions,
    bars: Any,
    ckpt_path: Path,
) -> dict[str, Any]:
    info = dist_info()
    device = options.device
    # Shuffling and worker seeds depend only on (seed, epoch, rank): a resumed run sees the same data.
    sampler.set_epoch(epoch)
    if hasattr(loader.dataset, "set_epoch"):  # seeded datasets draw new crops/frames per epoch
        loader.dataset.set_epoch(epoch)
    loader_rng.manual_seed(options.seed * 100_003 + epoch * 1009 + info.rank)
    task.set_epoch(epoch)
    task.train()
    if len(loader) == 0:
        raise ValueError("the training set is empty")
    step_bar = bars.add_task(f"epoch {epoch + 1}/{options.epochs}", total=len(loader), status="")
    loss_sum, correct, seen = 0.0, 0.0, 0.0
    started = time.perf_counter()
    for step, batch in enumerate(loader):
        if options.step_hook is not None:
            options.step_hook(epoch, step)
        batch = to_device(batch, device)
        with _autocast(device, options.amp):
            result = task(batch)
        loss = result["loss"]
        value = loss.item()
        finite = math.isfinite(value)
        if info.world > 1:  # every process must stop together, or the others hang in all-reduce
            flag = torch.tensor([1.0 if finite else 0.0], device=device)
            dist.all_reduce(flag, op=dist.ReduceOp.MIN)
            finite = bool(flag.item())
        if not finite:
            bars.remove_task(step_bar)
            where = f"{options.title + ': ' if options.title else ''}"
            kept = (
                f"the last good checkpoint is {ckpt_path} (epoch {_saved_epoch(ckpt_path)})"
                if ckpt_path.is_file()
                else "no checkpoint was written yet"
            )
            raise NonFiniteLossError(
                f"{where}training loss became {value} at epoch {epoch + 1}, step {step + 1}; run stopped, "
                f"{kept}. Lower the learning rate or check the input data."
            )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        _, y = unpack_batch(batch, getattr(task, "modality", ""))
        n = y.numel()
        loss_sum += value * n
        correct += (result["output"][-1].argmax(dim=1) == y).sum().item()
        seen += n
        bars.update(step_bar, advance=1, status=f"loss {value:.3f}")
    elapsed = time.perf_counter() - started
    bars.remove_task(step_bar)
    loss_sum, correct, seen = all_reduce_sum([loss_sum, correct, seen], device)
    record: dict[str, Any] = {
        "epoch": epoch,
        "train_loss": loss_sum / max(seen, 1),
        "train_acc": correct / max(seen, 1),
        "samples_per_s": seen / elapsed if elapsed > 0 else None,
        "epoch_time_s": elapsed,
    }
    if "teacher" in result:
        record["teacher"] = result["teacher"]
    return record


def _check_finite_weights(model: nn.Module, epoch: int, title: str, ckpt_path: Path) -> None:
    """Refuses to checkpoint weights that an optimiser step turned NaN/inf (the loss was still finite)."""
    bad = [name for name, p in model.state_dict().items() if p.is_floating_point() and not torch.isfinite(p).all()]
    if bad:
        kept = f"{ckpt_path} (epoch {_saved_epoch(ckpt_path)})" if ckpt_path.is_file() else "none written yet"
        raise NonFiniteLossError(
            f"{title + ': ' if title else ''}weights became non-finite during epoch {epoch + 1} "
            f"({', '.join(bad[:3])}); run stopped, last good checkpoint: {kept}"
        )


def _saved_epoch(path: Path) -> int | str:
    try:
        return int(torch.load(path, map_location="cpu", weights_only=True)["epoch"])
    except Exception:  # unreadable: still name the file
        return "?"
