"""Synthetic 12-exit logits with a known best weighting, shared by the WISE and evaluation tests."""

from __future__ import annotations

import numpy as np

K, C = 12, 5
COSTS = np.array([1.0, 2.0, 3.0, 4.0, 1.5, 1.5, 1.5, 1.5, 0.5, 0.5, 0.5, 0.5])


def informative_logits(n: int, seed: int, good: tuple[int, ...] = (3, 7, 11)) -> tuple[np.ndarray, np.ndarray]:
    """Exits in ``good`` carry a weak class signal; the others are loud noise.

    Equal weights drown the signal; the best weighting keeps only the good exits.
    """
    rng = np.random.default_rng(seed)
    y = rng.integers(0, C, n)
    z = rng.normal(0, 3.0, (K, n, C)).astype(np.float32)
    for j in good:
        z[j] = rng.normal(0, 1.0, (n, C))
        z[j, np.arange(n), y] += 1.5
    return z, y
