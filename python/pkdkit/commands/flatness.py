"""``pkdkit flatness``: Hessian spectrum, trace, sharpness and loss landscapes of trained runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ._options import device_option


@click.command()
@click.option("--run", "runs", multiple=True, required=True, type=click.Path(exists=True, path_type=Path),
              help="Run directory (with checkpoint.pt) or checkpoint file; repeat to compare runs.")
@click.option("--data", "data_root", required=True, type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="Prepared dataset folder (with datalists/, from `pkdkit prepare`).")
@click.option("--split", type=int, default=1, show_default=True, help="Split number of the datalist.")
@click.option("--set", "subset", type=click.Choice(["train", "test"]), default="train", show_default=True,
              help="Which datalist the fixed subset of clips is drawn from.")
@click.option("--dataset", default=None, help="Dataset name in the datalist file, if several are prepared.")
@click.option("--metrics", default="eigenvalues,trace,sharpness,landscape", show_default=True,
              help="Comma-separated: eigenvalues, trace, sharpness, landscape.")
@click.option("--samples", type=int, default=64, show_default=True,
              help="Clips in the fixed, seeded data subset (the same clips for every run).")
@click.option("--batch-size", type=int, default=16, show_default=True, help="Clips per batch (memory only).")
@click.option("--segments", type=int, default=None, help="Segments per clip [default: the run's config, else 3].")
@click.option("--exit", "exit_number", type=click.IntRange(1, 4), default=4, show_default=True,
              help="Exit to measure (4: the backbone's own classifier).")
@click.option("--top-k", type=int, default=1, show_default=True, help="Largest Hessian eigenvalues to compute.")
@click.option("--tol", type=float, default=1e-3, show_default=True,
              help="Eigenvalues: stop when each error bound is below tol * |eigenvalue|.")
@click.option("--probes", type=int, default=50, show_default=True,
              help="Hessian-vector products for the Hutch++ trace.")
@click.option("--rho", type=float, default=0.5, show_default=True, help="Adaptive worst-case sharpness radius.")
@click.option("--average-rho", type=float, default=0.05, show_default=True,
              help="Adaptive average-case sharpness noise scale.")
@click.option("--norm", type=click.Choice(["l2", "linf"]), default="l2", show_default=True)
@click.option("--epsilon", type=float, default=1e-3, show_default=True, help="Keskar sharpness box size.")
@click.option("--ascent-steps", type=int, default=10, show_default=True,
              help="Gradient steps of the worst-case sharpness searches (Keskar, adaptive worst).")
@click.option("--noise-samples", type=int, default=20, show_default=True,
              help="Random perturbations of the average-case sharpness.")
@click.option("--grid", type=int, default=21, show_default=True, help="Points of the 1-D landscape.")
@click.option("--grid-2d", type=int, default=11, show_default=True,
              help="Points per axis of the 2-D landscape (0: skip it; costs grid^2 passes).")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder for flatness.json and the PNG plots.")
@device_option()
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the subset and random vectors.")
def flatness(
    runs: tuple[Path, ...], data_root: Path, split: int, subset: str, dataset: str | None, metrics: str,
    samples: int, batch_size: int, segments: int | None, exit_number: int, top_k: int, tol: float, probes: int,
    rho: float, average_rho: float, norm: str, epsilon: float, ascent_steps: int, noise_samples: int, grid: int,
    grid_2d: int, out: Path,
    device: str, seed: int,
) -> None:
    """Measure how flat the minima of trained networks are, side by side.

    For each run: the largest Hessian eigenvalues (Lanczos), the Hessian trace (Hutchinson),
    Keskar's sharpness and adaptive worst/average-case sharpness, and 1-D/2-D loss landscapes
    along filter-normalised directions, all on the same seeded subset of clips (each in the
    run's modality), in eval mode. Writes OUT/flatness.json and PNG plots and prints a table.

    Example:

    \b
        pkdkit flatness --run runs/iframe --run runs/mv --run runs/residual \\
            --data prepared/ --split 1 --out flatness/
    """
    from ..flatness.measure import MeasureOptions, measure_runs, parse_metrics

    if grid < 2 or grid_2d < 0 or grid_2d == 1:
        raise click.BadParameter("--grid needs at least 2 points and --grid-2d 0 or at least 2")
    options = MeasureOptions(
        metrics=parse_metrics(metrics), top_k=top_k, tol=tol, probes=probes, epsilon=epsilon, rho=rho,
        average_rho=average_rho, norm=norm, ascent_steps=ascent_steps, noise_samples=noise_samples,
        points_1d=grid, points_2d=grid_2d, seed=seed,
    )
    report = measure_runs(
        runs, data_root, split, out, options, subset=subset, dataset=dataset, samples=samples,
        batch_size=batch_size, num_segments=segments, exit_number=exit_number, device=device, progress=True,
    )
    _print_table(report)
    click.echo(f"wrote {out / 'flatness.json'}" + "".join(f", {p}" for p in report["plots"]))


def _print_table(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Flatness (larger = sharper; worst/average: adaptive sharpness)")
    for column in ("run", "modality", "loss", "λ_max", "trace", "Keskar %", "worst", "average"):
        table.add_column(column, justify="left" if column in ("run", "modality") else "right")
    for label, entry in report["runs"].items():
        sharp = entry.get("sharpness", {})
        eig = entry.get("eigenvalues")
        trace = entry.get("trace")
        loss = sharp.get("base_loss")
        average = sharp.get("adaptive_average")
        table.add_row(
            label,
            str(entry.get("modality", "")),
            "-" if loss is None else f"{loss:.4f}",
            "-" if eig is None else f"{eig['values'][0]:.4g}",
            "-" if trace is None else f"{trace['mean']:.4g}±{trace['stderr']:.2g}",
            _value(sharp.get("keskar")),
            _value(sharp.get("adaptive_worst")),
            "-" if average is None else f"{average['value']:.3g}±{average['stderr']:.2g}",
        )
    console = Console()
    if not console.is_terminal:  # piped or captured: do not squeeze the table into 80 columns
        console = Console(width=120)
    console.print(table)


def _value(entry: dict[str, Any] | None) -> str:
    return "-" if entry is None else f"{entry['value']:.4g}"
