"""Opens a dataset folder for training: a ``pkdkit prepare`` output or a ``pkdkit synth`` folder.

Both hold ``DIR/datalists/<name>_split<N>_train.txt`` and ``_test.txt`` (``<path> <label> <frames>``,
paths relative to DIR); the datasets themselves are :mod:`pkdkit.data`'s.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

from ..data.datalists import find_datalist

__all__ = ["TrainingData", "find_datalists", "open_datasets", "check_listed_videos", "MISSING_POLICIES"]

log = logging.getLogger(__name__)
MISSING_POLICIES = ("error", "drop")


@dataclass(frozen=True)
class TrainingData:
    """The two sides of a split, the number of classes, and the listed videos that were dropped
    because they do not exist (``{"train": [...], "test": [...]}``, empty lists when none)."""

    train: Dataset
    test: Dataset
    num_classes: int
    dropped: dict[str, list[str]] = field(default_factory=lambda: {"train": [], "test": []})


def find_datalists(data_dir: str | Path, split: int) -> tuple[Path, Path]:
    """The train and test datalists of ``split`` in ``data_dir/datalists``.

    Raises:
        FileNotFoundError: no such datalists (the message lists what is there).
        ValueError: several datasets in the folder have that split.
    """
    train = find_datalist(data_dir, split, "train")
    test = train.with_name(train.name.replace("_train.txt", "_test.txt"))
    if not test.is_file():
        raise FileNotFoundError(f"{test}: missing (the test side of {train.name})")
    return train, test


def check_listed_videos(entries: Sequence[Any], datalist: Path, policy: str) -> tuple[list[Any], list[str]]:
    """Check that every video a datalist names exists, before any epoch.

    Args:
        entries: the datalist's :class:`~pkdkit.data.DatalistEntry` items.
        datalist: the list file (for messages).
        policy: ``"error"``: raise naming the missing files; ``"drop"``: leave them out with a
            warning.

    Returns:
        The entries kept and the paths dropped.

    Raises:
        FileNotFoundError: videos are missing and ``policy`` is ``"error"``.
        ValueError: unknown ``policy``, or every video is missing.
    """
    from ..data.datasets import missing_videos

    if policy not in MISSING_POLICIES:
        raise ValueError(f"data.missing = {policy!r}: expected one of {MISSING_POLICIES}")
    missing = missing_videos(entries)
    if not missing:
        return list(entries), []
    shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
    if policy == "error":
        raise FileNotFoundError(
            f"{datalist}: {len(missing)} of {len(entries)} listed videos do not exist: {shown} "
            "(pass --drop-missing, or set data.missing = \"drop\", to leave them out)"
        )
    kept = [e for e in entries if e.path not in set(missing)]
    if not kept:
        raise ValueError(f"{datalist}: none of the {len(entries)} listed videos exist: {shown}")
    log.warning("%s: DROPPED %d of %d listed videos that do not exist: %s", datalist, len(missing), len(entries), shown)
    return kept, missing


def _num_classes(data_dir: Path, *datalists: Path) -> int:
    labels = [
        int(parts[1]) for path in datalists for parts in map(str.split, path.read_text().splitlines()) if parts
    ]
    count = max(labels) + 1
    class_index = data_dir / "classInd.txt"
    if class_index.is_file():
        count = max(count, sum(1 for line in class_index.read_text().splitlines() if line.strip()))
    return count


def open_datasets(
    data_dir: str | Path,
    split: int,
    *,
    modality: str,
    fused: bool,
    config: Mapping[str, Any],
    train_size: int = 0,
) -> TrainingData:
    """Builds the train and test datasets of a split.

    Args:
        data_dir: a prepared dataset or a ``pkdkit synth`` folder.
        split: split number (1-3 for UCF-101/HMDB-51, 1 for synth).
        modality: the network's modality (test set, and the training set when not fused).
        fused: training items carry all three modalities of the same GOPs (PKD's teachers need
            them); the test set stays single-modality.
        config: a full config: ``data.num_segments``, ``data.input_size``, ``data.mirror`` (flip
            training clips), ``data.missing`` (see :func:`check_listed_videos`) and
            ``run.seed`` are used.
        train_size: crop side of the training set (0: ``data.input_size``, as the test set).

    Returns:
        The datasets, the class count and the videos dropped as missing.

    Raises:
        FileNotFoundError: listed videos do not exist (unless ``data.missing`` is ``"drop"``).
    """
    from ..data import CoviarDataset, FusedDataset, read_datalist

    data_dir = Path(data_dir)
    train_list, test_list = find_datalists(data_dir, split)
    segments = int(config["data"]["num_segments"])
    size = int(config["data"]["input_size"])
    seed = int(config["run"]["seed"])
    crop = train_size or size
    mirror = bool(config["data"].get("mirror", True))
    policy = str(config["data"].get("missing", "error"))
    train_entries, train_dropped = check_listed_videos(read_datalist(data_dir, train_list), train_list, policy)
    test_entries, test_dropped = check_listed_videos(read_datalist(data_dir, test_list), test_list, policy)
    if fused:
        train: Dataset = FusedDataset(data_dir, train_entries, segments, True, crop_size=crop, seed=seed, mirror=mirror)
    else:
        train = CoviarDataset(
            data_dir, train_entries, modality, segments, True, crop_size=crop, seed=seed, mirror=mirror
        )
    test = CoviarDataset(data_dir, test_entries, modality, segments, False, crop_size=size, seed=seed)
    dropped = {"train": train_dropped, "test": test_dropped}
    return TrainingData(train, test, _num_classes(data_dir, train_list, test_list), dropped)
