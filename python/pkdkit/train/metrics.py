"""Per-epoch metrics: ``metrics.jsonl`` (one JSON object per epoch), ``metrics.csv``, a PNG plot."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

__all__ = ["MetricsLog", "plot_curves"]


class MetricsLog:
    """Appends one record per epoch; on resume, drops records of epochs not in the checkpoint.

    Args:
        run_dir: the run directory.
    """

    def __init__(self, run_dir: str | Path) -> None:
        self.jsonl = Path(run_dir) / "metrics.jsonl"
        self.csv = Path(run_dir) / "metrics.csv"

    def records(self) -> list[dict[str, Any]]:
        """All records written so far, in epoch order."""
        if not self.jsonl.is_file():
            return []
        return [json.loads(line) for line in self.jsonl.read_text().splitlines() if line.strip()]

    def truncate(self, epochs_done: int) -> None:
        """Keeps only records of epochs ``< epochs_done`` (a killed run may have logged one more)."""
        kept = [r for r in self.records() if r["epoch"] < epochs_done]
        self.jsonl.write_text("".join(json.dumps(r) + "\n" for r in kept))
        self._write_csv(kept)

    def append(self, record: dict[str, Any]) -> None:
        """Adds one epoch's record and rewrites the CSV (columns = union of all keys)."""
        with self.jsonl.open("a") as f:
            f.write(json.dumps(record) + "\n")
        self._write_csv(self.records())

    def _write_csv(self, records: list[dict[str, Any]]) -> None:
        columns: list[str] = []
        for record in records:
            columns += [k for k in record if k not in columns]
        with self.csv.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns)
            writer.writeheader()
            writer.writerows(records)


def plot_curves(records: list[dict[str, Any]], path: str | Path, title: str = "") -> Path:
    """Plots training loss and test accuracy of every exit against epochs to a PNG.

    Args:
        records: metric records (``epoch``, ``train_loss``, ``test_acc_exit{k}``...).
        path: output PNG file.
        title: figure title.

    Returns:
        ``path``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    epochs = [r["epoch"] + 1 for r in records]
    ax_loss.plot(epochs, [r.get("train_loss", math.nan) for r in records], label="train loss")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("loss")
    ax_loss.legend()
    keys = sorted({k for r in records for k in r if k.startswith("test_acc_exit")})
    for key in keys:
        points = [(r["epoch"] + 1, r[key]) for r in records if key in r]
        ax_acc.plot([p[0] for p in points], [100 * p[1] for p in points], marker="o", ms=3,
                    label=key.replace("test_acc_exit", "exit "))
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("test accuracy (%)")
    if keys:
        ax_acc.legend()
    # PKD: mark where the teacher changes
    for prev, rec in zip(records, records[1:]):
        if rec.get("teacher") and rec.get("teacher") != prev.get("teacher"):
            for ax in (ax_loss, ax_acc):
                ax.axvline(rec["epoch"] + 0.5, color="grey", ls="--", lw=0.8)
            where = (rec["epoch"] + 0.6, 0.95)
            ax_loss.annotate(f"teacher: {rec['teacher']}", where, xycoords=("data", "axes fraction"),
                             fontsize=8, color="grey")
    for ax in (ax_loss, ax_acc):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)
