"""``pkdkit demo``: the whole method end to end on built-in synthetic data."""

from __future__ import annotations

from pathlib import Path

import click

from ._options import device_option


@click.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("pkdkit-demo"),
              show_default=True, help="Output folder (a previous demo's outputs in it are replaced).")
@device_option("Where to train and measure (auto: CUDA when available).")
@click.option("--quick", is_flag=True, help="Tiny sizes and two epochs: checks that everything runs (CI).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the data and of every run.")
def demo(out: Path, device: str, quick: bool, seed: int) -> None:
    """Run pkdkit end to end on synthetic data and write OUT/report.md.

    Renders a synthetic action set (classes are motion patterns; nothing is downloaded), trains the
    I-frame, motion-vector and residual networks, trains their internal classifiers by CE and by
    PKD (teachers: MV net, residual net, then the network itself), measures the flatness of the
    three networks (top Hessian eigenvalue, Hessian trace, 1-D loss landscape), saves the 12-exit
    logits, fits WISE and sweeps its exit thresholds. The report has per-exit accuracy CE vs PKD,
    flatness per modality, the WISE trade-off table and PNG plots. About 5-10 minutes on 2 CPU
    cores (--quick: 1-2 minutes).
    """
    from ..demo import run_demo

    result = run_demo(out, device=device, quick=quick, seed=seed)
    click.echo(f"wrote {result.report}")
