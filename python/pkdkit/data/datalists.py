"""Finding the datalists of a dataset folder: ``DIR/datalists/<name>_split<N>_<subset>.txt``, as
``pkdkit prepare`` and ``pkdkit synth`` write them. The one lookup for training, logits and
flatness."""

from __future__ import annotations

from pathlib import Path

__all__ = ["find_datalist"]


def find_datalist(data_dir: str | Path, split: int, subset: str, dataset: str | None = None) -> Path:
    """``data_dir/datalists/<dataset>_split<split>_<subset>.txt`` (any dataset name if None).

    Raises:
        FileNotFoundError: no such datalist (the message lists what is there).
        ValueError: several datasets in the folder have that split (choose one with ``dataset``).
    """
    folder = Path(data_dir) / "datalists"
    pattern = f"{dataset or '*'}_split{split}_{subset}.txt"
    found = sorted(folder.glob(pattern))
    if not found:
        have = ", ".join(sorted(p.name for p in folder.glob("*.txt"))) if folder.is_dir() else "no datalists/ folder"
        raise FileNotFoundError(
            f"{folder / pattern}: no such datalist ({have}); run `pkdkit prepare` or `pkdkit synth` first"
        )
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise ValueError(f"{folder}: several datalists match split {split} ({names}); choose one with --dataset")
    return found[0]
