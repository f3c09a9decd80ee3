"""Official train/test splits: UCF-101 lists, HMDB-51 marks, and a seeded split of a class folder.

Every reader returns :class:`Split` objects whose videos are paths relative to the videos folder
(``ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi``) with 0-based labels.

- UCF-101: ``classInd.txt`` (``1 ApplyEyeMakeup``), ``trainlistNN.txt`` (``path label``, 1-based),
  ``testlistNN.txt`` (``path``; the label comes from the class folder, matched ignoring case, as
  the official lists spell some folders differently from ``classInd.txt``).
- HMDB-51: ``<class>_test_split<N>.txt`` with lines ``video.avi M``; M = 1 train, 2 test,
  0 unused. Classes are sorted by name; videos live in ``<class>/video.avi``.
- folder: one sub-folder per class (sorted names), each video put in the test set with a seeded
  per-class shuffle so a fraction ``test_ratio`` of each class is test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["Split", "VIDEO_EXTENSIONS", "ucf101_splits", "hmdb51_splits", "folder_split", "read_splits"]

VIDEO_EXTENSIONS = frozenset({".avi", ".mp4", ".m4v", ".mkv", ".mov", ".webm", ".mpg", ".mpeg", ".flv"})


@dataclass(frozen=True)
class Split:
    """One numbered train/test split of a dataset.

    Attributes:
        dataset: ``"ucf101"``, ``"hmdb51"`` or ``"folder"``.
        number: the split number (1-based, as in the official file names).
        classes: class names; a label is an index into this tuple.
        train: ``(relative video path, 0-based label)`` pairs.
        test: ``(relative video path, 0-based label)`` pairs.
    """

    dataset: str
    number: int
    classes: tuple[str, ...]
    train: tuple[tuple[str, int], ...]
    test: tuple[tuple[str, int], ...]

    @property
    def name(self) -> str:
        """``<dataset>_split<N>``, the stem of its datalists."""
        return f"{self.dataset}_split{self.number}"


def _lines(path: Path) -> list[list[str]]:
    """Non-empty whitespace-split lines (handles the official lists' CRLF endings)."""
    return [line.split() for line in path.read_text().splitlines() if line.strip()]


def _read_class_index(path: Path) -> tuple[str, ...]:
    rows = _lines(path)
    numbers = []
    for i, row in enumerate(rows, 1):
        if len(row) != 2 or not row[0].isdigit():
            raise ValueError(f"{path}:{i}: expected 'NUMBER ClassName', got {' '.join(row)!r}")
        numbers.append(int(row[0]))
    if numbers != list(range(1, len(rows) + 1)):
        raise ValueError(f"{path}: class numbers must run 1..{len(rows)} in order")
    return tuple(row[1] for row in rows)


def ucf101_splits(splits_dir: str | Path) -> list[Split]:
    """Read every ``trainlistNN.txt`` / ``testlistNN.txt`` pair in ``splits_dir`` (UCF-101 format).

    Raises:
        FileNotFoundError: no ``classInd.txt`` or no ``trainlistNN.txt`` in ``splits_dir``.
        ValueError: a malformed line or an unknown class (the message names file and line).
    """
    root = Path(splits_dir)
    classes = _read_class_index(root / "classInd.txt")
    by_folder = {name.lower(): label for label, name in enumerate(classes)}
    train_files = sorted(root.glob("trainlist[0-9][0-9].txt"))
    if not train_files:
        raise FileNotFoundError(f"{root}: no trainlistNN.txt (UCF-101 split files)")
    splits = []
    for train_file in train_files:
        number = int(train_file.stem[-2:])
        test_file = root / f"testlist{number:02d}.txt"
        train, test = [], []
        for i, row in enumerate(_lines(train_file), 1):
            if len(row) != 2 or not row[1].isdigit() or not 1 <= int(row[1]) <= len(classes):
                raise ValueError(f"{train_file}:{i}: expected 'Class/video.avi LABEL' (1..{len(classes)})")
            train.append((row[0], int(row[1]) - 1))
        for i, row in enumerate(_lines(test_file), 1):
            folder = row[0].split("/")[0].lower()
            if len(row) not in (1, 2) or folder not in by_folder:
                raise ValueError(f"{test_file}:{i}: {row[0]!r} is not in a class of classInd.txt")
            test.append((row[0], by_folder[folder]))
        splits.append(Split("ucf101", number, classes, tuple(train), tuple(test)))
    return splits


_HMDB_NAME = re.compile(r"^(?P<cls>.+)_test_split(?P<n>\d+)\.txt$")


def hmdb51_splits(splits_dir: str | Path) -> list[Split]:
    """Read HMDB-51's ``<class>_test_split<N>.txt`` files (marks 1 train, 2 test, 0 unused).

    Raises:
        FileNotFoundError: no split file in ``splits_dir``.
        ValueError: a malformed line, or a split that lacks some class's file.
    """
    root = Path(splits_dir)
    marks: dict[int, dict[str, list[tuple[str, int]]]] = {}
    for path in sorted(root.glob("*_test_split*.txt")):
        match = _HMDB_NAME.match(path.name)
        if match is None:
            continue
        rows = []
        for i, row in enumerate(_lines(path), 1):
            if len(row) != 2 or row[1] not in ("0", "1", "2"):
                raise ValueError(f"{path}:{i}: expected 'video.avi 0|1|2', got {' '.join(row)!r}")
            rows.append((row[0], int(row[1])))
        marks.setdefault(int(match["n"]), {})[match["cls"]] = rows
    if not marks:
        raise FileNotFoundError(f"{root}: no <class>_test_split<N>.txt (HMDB-51 split files)")
    classes = tuple(sorted({cls for per_class in marks.values() for cls in per_class}))
    splits = []
    for number in sorted(marks):
        missing = set(classes) - set(marks[number])
        if missing:
            raise ValueError(f"{root}: split {number} has no file for class(es) {sorted(missing)}")
        train, test = [], []
        for label, cls in enumerate(classes):
            for video, mark in marks[number][cls]:
                if mark == 1:
                    train.append((f"{cls}/{video}", label))
                elif mark == 2:
                    test.append((f"{cls}/{video}", label))
        splits.append(Split("hmdb51", number, classes, tuple(train), tuple(test)))
    return splits


def folder_split(videos_dir: str | Path, test_ratio: float = 0.3, seed: int = 0) -> list[Split]:
    """One split of a folder with one sub-folder of videos per class.

    Each class with at least two videos gives ``round(test_ratio * n)`` of them (at least one, at
    most ``n - 1``) to the test set, chosen by a shuffle seeded with ``seed`` and the class name,
    so adding a class does not reshuffle the others.

    Raises:
        FileNotFoundError: ``videos_dir`` has no class sub-folder with videos.
        ValueError: ``test_ratio`` outside [0, 1).
    """
    if not 0 <= test_ratio < 1:
        raise ValueError(f"test ratio {test_ratio}: must be in [0, 1)")
    root = Path(videos_dir)
    per_class = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        videos = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in VIDEO_EXTENSIONS)
        if videos:
            per_class[folder.name] = videos
    if not per_class:
        raise FileNotFoundError(f"{root}: no class sub-folders with videos ({sorted(VIDEO_EXTENSIONS)})")
    classes = tuple(per_class)
    train, test = [], []
    for label, cls in enumerate(classes):
        videos = per_class[cls]
        n_test = min(len(videos) - 1, max(1, round(test_ratio * len(videos)))) if test_ratio > 0 else 0
        rng = np.random.default_rng([seed, *cls.encode()])
        chosen = set(rng.permutation(len(videos))[:n_test].tolist())
        for i, video in enumerate(videos):
            (test if i in chosen else train).append((f"{cls}/{video}", label))
    return [Split("folder", 1, classes, tuple(train), tuple(test))]


def read_splits(dataset: str, splits_dir: str | Path | None, videos_dir: str | Path, **folder_options) -> list[Split]:
    """The splits of ``dataset`` (``ucf101``, ``hmdb51`` or ``folder``).

    ``splits_dir`` holds the official split files (unused for ``folder``); ``folder_options``
    (``test_ratio``, ``seed``) go to :func:`folder_split`.
    """
    if dataset == "folder":
        return folder_split(videos_dir, **folder_options)
    if splits_dir is None:
        raise ValueError(f"{dataset}: --splits DIR (the official split files) is required")
    if dataset == "ucf101":
        return ucf101_splits(splits_dir)
    if dataset == "hmdb51":
        return hmdb51_splits(splits_dir)
    raise ValueError(f"unknown dataset {dataset!r}; expected one of ucf101, hmdb51, folder")
