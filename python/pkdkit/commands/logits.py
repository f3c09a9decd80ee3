"""``pkdkit logits``: the logits of all 12 exits of the three networks on one side of a split."""

from __future__ import annotations

from pathlib import Path

import click

from ..vocabulary import CASCADE_MODALITIES, MODALITIES
from ._options import device_option, runs_option


def _three(text: str, what: str) -> list[str]:
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 3 or not all(parts):
        raise click.BadParameter(f"expected three comma-separated {what} (I, MV, R), got {text!r}")
    return parts


@click.command()
@runs_option()
@click.option("--data", "data_dir", required=True, type=click.Path(exists=True, file_okay=False),
              help="A prepared dataset or a `pkdkit synth` folder.")
@click.option("--split", default=1, show_default=True)
@click.option("--set", "which", type=click.Choice(["train", "test"]), default="test", show_default=True,
              help="Which side of the split (train logits fit WISE).")
@click.option("--segments", help="Segments per video for I,MV,R (default: each run's training value).")
@click.option("--crops", type=click.Choice(["1", "10"]), default="1", show_default=True,
              help="Centre crop, or CoViAR's ten views (5 crops + mirrors).")
@click.option("--batch-size", default=16, show_default=True)
@device_option()
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Output .npz file.")
def logits(runs, data_dir, split, which, segments, crops, batch_size, device, out) -> None:
    """Save the logits of exits R1..R4, MV1..MV4, I1..I4 with labels and per-exit costs; print accuracies."""
    from ..devices import resolve_device
    from ..evaluate import per_exit_accuracy, save_logits
    from ..inference import compute_logits

    seg = None
    if segments:
        try:
            seg = dict(zip(MODALITIES, map(int, _three(segments, "segment counts"))))
        except ValueError:
            raise click.BadParameter(f"segments must be integers, got {segments!r}") from None
    dev = resolve_device(device)
    data = compute_logits(runs, data_dir, split, which,
                          segments=seg, crops=int(crops), device=dev, batch_size=batch_size)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_logits(out, data)
    acc = per_exit_accuracy(data)
    click.echo(f"{len(data.labels)} videos ({which} split {split}), accuracy per exit (%):")
    for prefix, _ in CASCADE_MODALITIES:
        click.echo("  " + "  ".join(f"{n}={100 * acc[n]:5.1f}" for n in data.names if n.rstrip("1234") == prefix))
    click.echo(f"wrote {out}")
