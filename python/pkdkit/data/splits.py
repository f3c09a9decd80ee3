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
- Kinetics-400 (also 600/700): the official CSVs (``label,youtube_id,time_start,time_end,split``,
  with or without ``is_cc``); a clip is the file ``<youtube_id>_<start:06d>_<end:06d>.<ext>``
  anywhere under the videos folder (per-split or per-class folders alike). ``train`` rows are
  the train set, ``val``/``validate`` rows the test set (Kinetics is evaluated on its validation
  set); ``test`` rows are not used. Classes are the label names, sorted.
- Something-Something v2: ``something-something-v2-{train,validation}.json`` (entries with
  ``id``, ``template``) and ``labels.json`` (template without brackets -> class index); a clip is
  ``<id>.webm`` anywhere under the videos folder.

Kinetics and SSv2 downloads are never complete: clips of the lists that are not on disk are kept
in :attr:`Split.missing` instead of the train/test sets.
"""

from __future__ import annotations

import csv
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "Split",
    "VIDEO_EXTENSIONS",
    "ucf101_splits",
    "hmdb51_splits",
    "folder_split",
    "kinetics_clip_name",
    "kinetics400_splits",
    "ssv2_splits",
    "read_splits",
    "DATASETS",
]

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
        missing: ``(clip name, "train" or "test", 0-based label)`` of clips the official lists
            name but the videos folder lacks (Kinetics and SSv2 only; they are in neither set).
    """

    dataset: str
    number: int
    classes: tuple[str, ...]
    train: tuple[tuple[str, int], ...]
    test: tuple[tuple[str, int], ...]
    missing: tuple[tuple[str, str, int], ...] = ()

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


def _index_videos(videos_dir: Path) -> dict[str, str]:
    """Every video file under ``videos_dir``, by file name without extension -> path relative to
    ``videos_dir``. Hidden files (partial downloads, our own temporaries) and the outputs of
    ``pkdkit prepare`` (a folder with ``prepare.json``, should OUT lie inside the videos folder)
    are left out; of two files with one name the first in sorted order wins."""
    index: dict[str, str] = {}
    for folder, subdirs, files in os.walk(videos_dir):
        if "prepare.json" in files:
            subdirs.clear()
            continue
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        rel = Path(folder).relative_to(videos_dir)
        for name in sorted(files):
            path = Path(name)
            if name.startswith(".") or path.suffix.lower() not in VIDEO_EXTENSIONS:
                continue
            index.setdefault(path.stem, (rel / name).as_posix())
    return index


def _place(
    rows: list[tuple[str, str, int]], index: dict[str, str]
) -> tuple[tuple[tuple[str, int], ...], tuple[tuple[str, int], ...], tuple[tuple[str, str, int], ...]]:
    """``(clip name, side, label)`` rows -> train and test ``(relpath, label)`` of the clips on
    disk, and the missing rows."""
    sets: dict[str, list[tuple[str, int]]] = {"train": [], "test": []}
    missing = []
    for clip, side, label in rows:
        relpath = index.get(clip)
        if relpath is None:
            missing.append((clip, side, label))
        else:
            sets[side].append((relpath, label))
    return tuple(sets["train"]), tuple(sets["test"]), tuple(missing)


def kinetics_clip_name(youtube_id: str, time_start: int, time_end: int) -> str:
    """The file name (without extension) of a Kinetics clip: ``<youtube_id>_<start:06d>_<end:06d>``."""
    return f"{youtube_id}_{time_start:06d}_{time_end:06d}"


_KINETICS_COLUMNS = ("youtube_id", "time_start", "time_end", "split")
# The split column's values: "val" in the official Kinetics-400 lists, "validate" in some copies.
_KINETICS_SIDES = {"train": "train", "val": "test", "validate": "test", "valid": "test", "validation": "test"}


def _seconds(text: str, where: str) -> int:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value.is_integer() or value < 0:
        raise ValueError(f"{where}: time {text!r} is not a whole number of seconds")
    return int(value)


def _kinetics_rows(path: Path) -> list[tuple[str, str, str, str | None]]:
    """``(file:line, clip name, split value, label name or None)`` of one official Kinetics CSV."""
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        header = [name.strip() for name in reader.fieldnames or []]
        lacking = [c for c in _KINETICS_COLUMNS if c not in header]
        if lacking:
            raise ValueError(
                f"{path}: not a Kinetics annotation file: no column(s) {', '.join(lacking)} "
                f"(expected label,youtube_id,time_start,time_end,split)"
            )
        reader.fieldnames = header
        rows = []
        for row in reader:
            where = f"{path}:{reader.line_num}"
            if any(row.get(c) is None for c in _KINETICS_COLUMNS):
                raise ValueError(f"{where}: too few fields for the header {','.join(header)}")
            youtube_id = row["youtube_id"].strip()
            if not youtube_id:
                raise ValueError(f"{where}: empty youtube_id")
            start, end = _seconds(row["time_start"], where), _seconds(row["time_end"], where)
            label = (row.get("label") or "").strip() or None
            rows.append((where, kinetics_clip_name(youtube_id, start, end), row["split"].strip(), label))
    return rows


def kinetics400_splits(annotations: str | Path, videos_dir: str | Path) -> list[Split]:
    """Kinetics from its official CSVs, matched against the clips found under ``videos_dir``.

    Args:
        annotations: one CSV, or a folder whose ``*.csv`` files are read (``train.csv``,
            ``validate.csv``, ``test.csv``).
        videos_dir: searched recursively for ``<youtube_id>_<start:06d>_<end:06d>.<ext>``.

    Returns:
        One split, ``kinetics400_split1``: train rows as train, validation rows as test; clips
        not on disk in :attr:`Split.missing`.

    Raises:
        FileNotFoundError: no CSV.
        ValueError: a CSV without the Kinetics columns, a bad time, a train or validation row
            without a label, or an unknown split value (file and line in the message).
    """
    root = Path(annotations)
    files = [root] if root.is_file() else sorted(root.glob("*.csv")) if root.is_dir() else []
    if not files:
        raise FileNotFoundError(f"{root}: no Kinetics annotation CSV (train.csv, validate.csv)")
    rows: dict[str, tuple[str, str]] = {}  # clip -> (side, label); a clip listed twice counts once
    for path in files:
        for where, clip, split, label in _kinetics_rows(path):
            if split == "test":
                continue
            side = _KINETICS_SIDES.get(split)
            if side is None:
                raise ValueError(f"{where}: split {split!r} is not train, val or test")
            if label is None:
                raise ValueError(f"{where}: a {split} row without a label")
            rows.setdefault(clip, (side, label))
    if not rows:
        raise ValueError(f"{root}: no train or validation rows in {', '.join(p.name for p in files)}")
    classes = tuple(sorted({label for _, label in rows.values()}))
    labels = {name: i for i, name in enumerate(classes)}
    placed = [(clip, side, labels[label]) for clip, (side, label) in rows.items()]
    train, test, missing = _place(placed, _index_videos(Path(videos_dir)))
    return [Split("kinetics400", 1, classes, train, test, missing)]


SSV2_LISTS = (("train", "something-something-v2-train.json"), ("test", "something-something-v2-validation.json"))


def _json(path: Path) -> object:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file (Something-Something v2 annotations)")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: invalid JSON: {err}") from None


def ssv2_splits(annotations: str | Path, videos_dir: str | Path) -> list[Split]:
    """Something-Something v2 from its official JSON lists, matched against ``videos_dir``.

    Args:
        annotations: the folder of ``labels.json``, ``something-something-v2-train.json`` and
            ``something-something-v2-validation.json``.
        videos_dir: searched recursively for ``<id>.webm`` (any video extension).

    Returns:
        One split, ``ssv2_split1``: the train list as train, the validation list as test, with
        the 174 classes in ``labels.json`` order; clips not on disk in :attr:`Split.missing`.

    Raises:
        FileNotFoundError: a list or ``labels.json`` is missing.
        ValueError: malformed JSON, or an entry whose template is not in ``labels.json``.
    """
    root = Path(annotations)
    labels_path = root / "labels.json"
    table = _json(labels_path)
    try:
        by_template = {str(name): int(index) for name, index in table.items()}  # type: ignore[union-attr]
    except (AttributeError, TypeError, ValueError):
        raise ValueError(f"{labels_path}: expected {{template: index}}") from None
    if sorted(by_template.values()) != list(range(len(by_template))):
        raise ValueError(f"{labels_path}: class indices must be 0..{len(by_template) - 1}, each once")
    classes = tuple(sorted(by_template, key=by_template.__getitem__))
    rows = []
    for side, name in SSV2_LISTS:
        path = root / name
        entries = _json(path)
        if not isinstance(entries, list):
            raise ValueError(f"{path}: expected a list of videos")
        for i, entry in enumerate(entries):
            try:
                clip, template = str(entry["id"]), str(entry["template"])
            except (KeyError, TypeError):
                raise ValueError(f"{path}: entry {i}: expected 'id' and 'template'") from None
            # The lists write the objects as "[something]"; labels.json without brackets.
            label = by_template.get(template.replace("[", "").replace("]", ""))
            if label is None:
                raise ValueError(f"{path}: entry {i} (id {clip}): template {template!r} is not in labels.json")
            rows.append((clip, side, label))
    train, test, missing = _place(rows, _index_videos(Path(videos_dir)))
    return [Split("ssv2", 1, classes, train, test, missing)]


DATASETS = ("ucf101", "hmdb51", "folder", "kinetics400", "ssv2")


def read_splits(dataset: str, splits_dir: str | Path | None, videos_dir: str | Path, **folder_options) -> list[Split]:
    """The splits of ``dataset`` (one of :data:`DATASETS`).

    ``splits_dir`` holds the official split files or annotation lists (unused for ``folder``);
    ``folder_options`` (``test_ratio``, ``seed``) go to :func:`folder_split`.
    """
    if dataset == "folder":
        return folder_split(videos_dir, **folder_options)
    if splits_dir is None:
        raise ValueError(f"{dataset}: --splits DIR (the official split files) is required")
    if dataset == "ucf101":
        return ucf101_splits(splits_dir)
    if dataset == "hmdb51":
        return hmdb51_splits(splits_dir)
    if dataset == "kinetics400":
        return kinetics400_splits(splits_dir, videos_dir)
    if dataset == "ssv2":
        return ssv2_splits(splits_dir, videos_dir)
    raise ValueError(f"unknown dataset {dataset!r}; expected one of {', '.join(DATASETS)}")
