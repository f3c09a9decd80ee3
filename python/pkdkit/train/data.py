"""Opens a dataset folder for training: a ``pkdkit prepare`` output or a ``pkdkit synth`` folder.

Both hold ``DIR/datalists/<name>_split<N>_train.txt`` and ``_test.txt`` (``<path> <label> <frames>``,
paths relative to DIR); the datasets themselves are :mod:`pkdkit.data`'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

from ..data.datalists import find_datalist

__all__ = ["TrainingData", "find_datalists", "open_datasets"]


@dataclass(frozen=True)
class TrainingData:
    """The two sides of a split and the number of classes."""

    train: Dataset
    test: Dataset
    num_classes: int


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
            training clips) and ``run.seed`` are used.
        train_size: crop side of the training set (0: ``data.input_size``, as the test set).

    Returns:
        The datasets and the class count.
    """
    from ..data import CoviarDataset, FusedDataset

    data_dir = Path(data_dir)
    train_list, test_list = find_datalists(data_dir, split)
    segments = int(config["data"]["num_segments"])
    size = int(config["data"]["input_size"])
    seed = int(config["run"]["seed"])
    crop = train_size or size
    mirror = bool(config["data"].get("mirror", True))
    if fused:
        train: Dataset = FusedDataset(data_dir, train_list, segments, True, crop_size=crop, seed=seed, mirror=mirror)
    else:
        train = CoviarDataset(
            data_dir, train_list, modality, segments, True, crop_size=crop, seed=seed, mirror=mirror
        )
    test = CoviarDataset(data_dir, test_list, modality, segments, False, crop_size=size, seed=seed)
    return TrainingData(train, test, _num_classes(data_dir, train_list, test_list))
