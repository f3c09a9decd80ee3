"""``pkdkit compare``: paired statistics over demo runs of different seeds."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also write OUT/summary.md and OUT/summary.json.")
def compare(runs: tuple[Path, ...], out: Path | None) -> None:
    """Compare `pkdkit demo` output folders RUNS... (one per seed) and print the summary.

    Per exit: mean accuracy under CE and PKD and the paired difference PKD - CE with its 95 %
    t-interval over seeds; the single networks' order (I-frame > residual > MV); WISE against
    CoViAR's 2:1:1 fusion at the same cost; the flatness order per metric. Each finding is stated
    in words, whichever way it goes. The folders of `pkdkit demo --seeds N` are OUT/seed-K.
    """
    from ..demo.summary import write_summary

    _, text = write_summary(list(runs), out)
    click.echo(text, nl=False)
