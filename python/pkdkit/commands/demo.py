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
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the data and of every run (with --seeds: the first of them).")
@click.option("--seeds", "n_seeds", type=click.IntRange(min=1), default=1, show_default=True,
              help="Run N seeds (SEED, SEED+1, ...) into OUT/seed-K and write OUT/summary.md with paired "
                   "95 % intervals over seeds. Resumes: a seed already finished in OUT with the same "
                   "settings is kept, not rerun.")
@click.option("--preset", type=click.Choice(["actions", "motion"]), default="actions", show_default=True,
              help="Synthetic data: actions (appearance informative, motion decisive) or motion "
                   "(classes differ in motion only).")
def demo(out: Path, device: str, quick: bool, seed: int, n_seeds: int, preset: str) -> None:
    """Run pkdkit end to end on synthetic data and write OUT/report.md.

    Renders a synthetic action set (nothing is downloaded; see docs/synthetic.md), trains the
    I-frame, motion-vector and residual networks, trains their internal classifiers by CE and by
    PKD (teachers: MV net, residual net, then the network itself), measures the flatness of the
    three networks (top Hessian eigenvalue, Hessian trace, 1-D loss landscape), saves the 12-exit
    logits, fits WISE and sweeps its exit thresholds. The report has per-exit accuracy CE vs PKD,
    flatness per modality, the WISE trade-off table and PNG plots. About 5-10 minutes per seed on
    2 CPU cores (--quick: 1-2 minutes).

    With --seeds N the report of each seed goes to OUT/seed-K/report.md and OUT/summary.md says,
    with 95 % t-intervals over the seeds, whether PKD beats CE per exit, whether WISE beats
    CoViAR's 2:1:1 fusion at the same cost, and whether the flatness order I < R < MV holds.
    """
    from ..demo.pipeline import FULL, QUICK, run_demo, run_demo_seeds, with_overrides

    settings = with_overrides(QUICK if quick else FULL, preset=preset)
    if n_seeds == 1:
        result = run_demo(out, device=device, quick=quick, seed=seed, settings=settings)
        click.echo(f"wrote {result.report}")
        return
    _, summary = run_demo_seeds(out, range(seed, seed + n_seeds), device, quick, settings=settings)
    click.echo(f"wrote {summary}")
