"""Inference over the three multi-exit networks: 12-exit logits, per-exit costs, anytime prediction.

The cascade order is WISE's (:data:`pkdkit.wise.CASCADE`): the residual network's exits R1..R4,
then the MV network's, then the I-frame network's. Exits are computed lazily, one backbone stage at
a time (:func:`iter_exits`), so an early exit never pays for a later stage, and a network (and its
video representation) that the cascade never reaches is never run or decoded.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .evaluate import ExitLogits, count_macs, incremental_costs
from .models._run import RunInfo, read_run
from .vocabulary import CASCADE_MODALITIES
from .wise import CASCADE, WiseModel

__all__ = [
    "CASCADE_MODALITIES",
    "RunInfo",
    "read_run",
    "iter_exits",
    "exit_costs",
    "compute_logits",
    "Prediction",
    "predict_video",
]

def iter_exits(model: torch.nn.Module, x: torch.Tensor) -> Iterator[torch.Tensor]:
    """Yield the logits of exits 1, 2, 3, 4 of a multi-exit network, computing each stage on demand.

    Args:
        model: a :class:`pkdkit.models.MultiExitNet`.
        x: (B, S, C, H, W) float input.

    Yields:
        (B, num_classes) logits averaged over segments; stage k+1 runs only when asked for.
    """
    batch, segments = x.shape[:2]
    bb = model.backbone
    for index, feature in model._stages(x.flatten(0, 1), 4):
        if index < 4:
            out = model.ics[index - 1](feature)
        else:
            out = bb.fc(torch.flatten(bb.avgpool(feature), 1))
        yield out.view(batch, segments, -1).mean(dim=1)


def exit_costs(model: torch.nn.Module, num_segments: int, input_size: int) -> np.ndarray:
    """Incremental multiply-accumulates of exits 1..4 for one video (all segments).

    Exit k's increment is what computing it costs once exits 1..k-1 are computed: the backbone
    stage that feeds it plus its own head. Measured with torch's FLOP counter on the model itself.
    """
    channels = {"iframe": 3, "mv": 2, "residual": 3}[model.modality]
    x = torch.zeros(1, num_segments, channels, input_size, input_size, device=next(model.parameters()).device)
    was_training = model.training
    model.eval()
    try:
        cumulative = [count_macs(lambda k=k: model.forward(x, exits=range(1, k + 1))) for k in range(1, 5)]
    finally:
        model.train(was_training)
    return incremental_costs(cumulative)


def _dataset(data_dir: str | Path, datalist, info: RunInfo, segments: int, crops: int):
    from .data import CoviarDataset

    return CoviarDataset(
        data_dir, datalist, info.modality, segments, is_train=False, crop_size=info.input_size,
        ten_crop=crops == 10, seed=0,
    )


@torch.no_grad()
def compute_logits(
    runs: Mapping[str, str | Path],
    data_dir: str | Path,
    split: int = 1,
    which: str = "test",
    *,
    segments: Mapping[str, int] | None = None,
    crops: int = 1,
    device: str | torch.device = "cpu",
    batch_size: int = 16,
    progress: bool = True,
) -> ExitLogits:
    """Logits of all 12 exits on one side of a split, with every exit's incremental cost.

    Args:
        runs: modality (``"iframe"``, ``"mv"``, ``"residual"``) -> run directory.
        data_dir: a prepared dataset or a ``pkdkit synth`` folder.
        split: split number.
        which: ``"train"`` or ``"test"`` (the train side is read with test-time sampling, as the
            authors do to fit WISE).
        segments: modality -> segments per video (default: each run's training value).
        crops: 1 (centre crop) or 10 (five crops and their mirrors, logits averaged).
        device: where to run the networks.
        batch_size: videos per forward pass.

    Returns:
        :class:`pkdkit.evaluate.ExitLogits` in cascade order, costs per video.
    """
    from .train.data import find_datalists

    if crops not in (1, 10):
        raise ValueError(f"crops must be 1 or 10, got {crops}")
    if which not in ("train", "test"):
        raise ValueError(f"which must be 'train' or 'test', got {which!r}")
    missing = {m for _, m in CASCADE_MODALITIES} - set(runs)
    if missing:
        raise ValueError(f"runs lack modalities {sorted(missing)}")
    datalist = find_datalists(data_dir, split)[0 if which == "train" else 1]
    all_logits: list[np.ndarray] = []
    costs: list[np.ndarray] = []
    labels: np.ndarray | None = None
    for _, modality in CASCADE_MODALITIES:
        info = read_run(runs[modality], device)
        seg = int((segments or {}).get(modality, info.num_segments))
        ds = _dataset(data_dir, datalist, info, seg, crops)
        outs, ys = _run_network(info.model, ds, batch_size, device, progress, f"logits {modality}")
        if labels is not None and not np.array_equal(labels, ys):
            raise RuntimeError("the three datasets disagree on labels: they must read the same datalist")
        labels = ys
        all_logits.extend(outs)
        costs.append(exit_costs(info.model, seg, info.input_size) * crops)
    assert labels is not None
    return ExitLogits(np.stack(all_logits), labels, list(CASCADE), np.concatenate(costs))


def _run_network(model, dataset, batch_size, device, progress, label) -> tuple[list[np.ndarray], np.ndarray]:
    from rich.progress import Progress

    outs: list[list[torch.Tensor]] = [[] for _ in range(4)]
    ys: list[int] = []
    starts = range(0, len(dataset), batch_size)
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task(label, total=len(dataset))
        for start in starts:
            items = dataset.__getitems__(list(range(start, min(start + batch_size, len(dataset)))))
            x = torch.stack([item[0] for item in items]).to(device)
            if x.dim() == 6:  # ten crops: (B, 10, S, C, H, W) -> every view is one more segment
                x = x.flatten(1, 2)
            for k, z in enumerate(model(x)):
                outs[k].append(z.float().cpu())
            ys.extend(int(item[1]) for item in items)
            bar.advance(task, len(items))
    return [torch.cat(o).numpy() for o in outs], np.asarray(ys, np.int64)


@dataclass(frozen=True)
class Prediction:
    """The outcome of anytime inference on one video."""

    class_index: int
    confidence: float
    exit_name: str
    stage: int
    cost: float
    logits_computed: int


@torch.no_grad()
def predict_video(
    path: str | Path,
    runs: Mapping[str, RunInfo],
    wise: WiseModel,
    threshold: float,
    *,
    device: str | torch.device = "cpu",
    loaders: Mapping[str, Any] | None = None,
) -> Prediction:
    """Classify one video, stopping at the first WISE stage confident enough.

    Args:
        path: the video.
        runs: modality -> :class:`RunInfo` (see :func:`read_run`).
        wise: a fitted model over the 12 exits in cascade order.
        threshold: exit when the stage's max probability exceeds it (1.0: every exit).
        device: where to run the networks.
        loaders: modality -> callable returning the (1, S, C, H, W) input (for tests); default
            reads ``path`` with test-time sampling.

    Returns:
        A :class:`Prediction` (class, confidence, exit, stage, cost of the exits computed).
    """
    if list(wise.names) != list(CASCADE):
        raise ValueError(f"the WISE model's exits {wise.names} are not in cascade order {list(CASCADE)}")
    seen: list[torch.Tensor] = []
    for prefix, modality in CASCADE_MODALITIES:
        info = runs[modality]
        load = (loaders or {}).get(modality) or (lambda info=info: _video_input(path, info))
        x = load().to(device)  # decoded only when the cascade reaches this network
        for k, z in enumerate(iter_exits(info.model, x), start=1):
            seen.append(z[0].float().cpu())
            stop, cls, conf = wise.predict_stage(seen, threshold)
            if stop:
                stage = len(seen)
                return Prediction(cls, conf, f"{prefix}{k}", stage, float(np.sum(wise.costs[:stage])), stage)
    raise AssertionError("unreachable: the last stage always stops")  # pragma: no cover


def _video_input(path: str | Path, info: RunInfo) -> torch.Tensor:
    from . import open as open_video
    from .data import DatalistEntry

    video = open_video(str(path))
    entry = DatalistEntry(str(path), -1, video.num_frames)
    ds = _dataset(Path(path).parent, [entry], info, info.num_segments, 1)
    return ds[0][0].unsqueeze(0)


def find_test_list(data_dir: str | Path, split: int = 1) -> Path:
    """The test datalist of ``split`` in a prepared or synth folder."""
    from .train.data import find_datalists

    return find_datalists(data_dir, split)[1]


def class_names(path: str | Path | None) -> Sequence[str] | None:
    """Class names from a UCF-101-style ``classInd.txt`` (``<1-based index> <name>``), if given."""
    if path is None:
        return None
    names = {}
    for line in Path(path).read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2:
            names[int(parts[0]) - 1] = parts[1]
    return [names.get(i, str(i)) for i in range(max(names) + 1)] if names else None
