"""PNG plots of loss landscapes (matplotlib's Agg canvas; pyplot's global state is not used)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .landscape import Landscape1D, Landscape2D


def plot_curves(
    curves: Mapping[str, Landscape1D],
    path: str | Path,
    *,
    title: str = "Loss landscape",
    xlabel: str = "alpha",
    log_scale: bool = False,
) -> Path:
    """Draw one or more 1-D landscapes (e.g. one per modality) on shared axes.

    Args:
        curves: ``{label: landscape}``.
        path: where to write the PNG.
        title: figure title.
        xlabel: label of the horizontal axis.
        log_scale: use a logarithmic loss axis.

    Returns:
        The path written.
    """
    fig = Figure(figsize=(6, 4), dpi=120)
    ax = fig.add_subplot()
    for label, curve in curves.items():
        ax.plot(curve.alphas, curve.losses, marker=".", label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("loss")
    if log_scale:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if len(curves) > 1:
        ax.legend()
    return _save(fig, path)


def plot_contour(landscape: Landscape2D, path: str | Path, *, title: str = "Loss landscape", levels: int = 30) -> Path:
    """Draw a 2-D landscape as filled contours with the unperturbed point marked.

    Args:
        landscape: the grid of losses.
        path: where to write the PNG.
        title: figure title.
        levels: number of contour levels.

    Returns:
        The path written.
    """
    fig = Figure(figsize=(5.5, 4.5), dpi=120)
    ax = fig.add_subplot()
    grid_a, grid_b = np.meshgrid(landscape.alphas, landscape.betas)
    filled = ax.contourf(grid_a, grid_b, landscape.losses, levels=levels, cmap="viridis")
    ax.contour(grid_a, grid_b, landscape.losses, levels=levels, colors="k", linewidths=0.3)
    fig.colorbar(filled, ax=ax, label="loss")
    ax.plot([0], [0], marker="*", color="w", markersize=10)
    ax.set_xlabel("alpha (direction 1)")
    ax.set_ylabel("beta (direction 2)")
    ax.set_title(title)
    return _save(fig, path)


def plot_surface(landscape: Landscape2D, path: str | Path, *, title: str = "Loss landscape") -> Path:
    """Draw a 2-D landscape as a 3-D surface.

    Args:
        landscape: the grid of losses.
        path: where to write the PNG.
        title: figure title.

    Returns:
        The path written.
    """
    fig = Figure(figsize=(6, 5), dpi=120)
    ax = fig.add_subplot(projection="3d")
    grid_a, grid_b = np.meshgrid(landscape.alphas, landscape.betas)
    ax.plot_surface(grid_a, grid_b, landscape.losses, cmap="viridis", linewidth=0, antialiased=True)
    for axis in (ax.xaxis, ax.yaxis):  # keep the slanted tick labels from overlapping
        axis.set_major_locator(MaxNLocator(5))
    ax.set_xlabel("alpha")
    ax.set_ylabel("beta")
    ax.set_zlabel("loss")
    ax.set_title(title)
    return _save(fig, path)


def _save(fig: Figure, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    fig.savefig(path, format="png", bbox_inches="tight")
    return path
