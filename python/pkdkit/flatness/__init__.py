"""Flatness of minima: Hessian spectrum, trace and eigenvalue density, sharpness, loss landscapes.

Every metric takes a model (any ``nn.Module``; for a multi-exit network returning a list of
logits, ``exit_index`` picks the exit, the final one by default), a criterion reducing to the
mean loss, and a fixed data subset (an iterable of ``(inputs, targets)`` batches, read once and
kept on the model's device). It measures in eval mode (BatchNorm on running statistics, no
dropout) with a private seeded generator, and restores the model's parameters, buffers and
train/eval modes afterwards. The same code runs on CPU and CUDA: it follows the model's device.

A Hessian-vector product (HVP) is always one product with the Hessian of the loss on the whole
subset (a pass over every batch); costs are reported in HVPs.
"""

from __future__ import annotations

from .density import DensityResult, lanczos_quadrature, spectral_density
from .eigen import EigenResult, top_eigenvalues
from .hvp import HessianOperator
from .landscape import (
    Landscape1D,
    Landscape2D,
    filter_normalized_direction,
    interpolate,
    landscape_1d,
    landscape_2d,
)
from .measure import METRICS, MeasureOptions, measure_models, measure_runs
from .plots import plot_contour, plot_curves, plot_surface
from .sharpness import (
    SharpnessResult,
    average_case_sharpness,
    keskar_sharpness,
    worst_case_sharpness,
)
from .trace import TraceResult, hessian_trace

__all__ = [
    "top_eigenvalues",
    "EigenResult",
    "hessian_trace",
    "TraceResult",
    "spectral_density",
    "DensityResult",
    "lanczos_quadrature",
    "keskar_sharpness",
    "worst_case_sharpness",
    "average_case_sharpness",
    "SharpnessResult",
    "filter_normalized_direction",
    "landscape_1d",
    "landscape_2d",
    "interpolate",
    "Landscape1D",
    "Landscape2D",
    "plot_curves",
    "plot_contour",
    "plot_surface",
    "HessianOperator",
    "METRICS",
    "MeasureOptions",
    "measure_models",
    "measure_runs",
]
