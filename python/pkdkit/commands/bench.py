"""``pkdkit bench``: run the repository's benches and print one table of ratios against the peers."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command()
@click.option("--benches", "benches_dir", type=click.Path(path_type=Path), default=Path("benches"),
              show_default=True, help="The repository's benches folder (an installed wheel has none).")
@click.option("--only", default=None, metavar="NAMES",
              help="Comma-separated benches to run: decode, representations, loader, train_step, flatness.")
@click.option("--quick", is_flag=True, help="Fewer frames, repeats and steps (noisier numbers).")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the rows, notes and every bench's raw JSON here.")
def bench(benches_dir: Path, only: str | None, quick: bool, json_out: Path | None) -> None:
    """Run the benches and print pkdkit's speed against each peer, measured in the same run.

    Peers: FFmpeg's decoder through PyAV (decode), a numpy implementation of CoViAR's
    representations on PyAV and mv-extractor (representations), a PyAV + numpy training loader
    (loader), PyHessian (flatness); train_step has no peer and reports throughput. Benches whose
    peer is not installed (pyhessian, motion-vector-extractor) are skipped with a note.
    """
    import sys
    from dataclasses import asdict

    from rich.console import Console

    from ..bench import render_table, run_benches

    console = Console(width=None if sys.stdout.isatty() else 160)  # a pipe: rich would assume 80
    report = run_benches(benches_dir, only=only, quick=quick, say=lambda line: console.print(line, style="dim"))
    console.print(render_table(report))
    for name, note in report.notes.items():
        console.print(f"[bold]{name}[/bold]: {note}")
    if json_out is not None:
        json_out.write_text(json.dumps(
            {"rows": [asdict(r) for r in report.rows], "notes": report.notes, "seconds": report.seconds,
             "raw": report.raw}, indent=1) + "\n")
        console.print(f"wrote {json_out}")
