"""Paired statistics over seeds: means, Student-t confidence intervals, and a verdict in words.

A demo run per seed gives one number per method and seed (an exit's accuracy under CE and under
PKD, say). Runs of the same seed share their data and backbones, so the fair comparison is the
*paired* one: the per-seed difference ``b - a``, its mean, and the t-interval

    mean(d) +- t_{1-alpha/2, n-1} * sd(d) / sqrt(n)

with ``sd`` the sample standard deviation (``n - 1`` in the denominator). The difference is called
significant when the interval excludes zero.

No scipy: Student's t distribution function is computed from the regularised incomplete beta
function (continued fraction, evaluated by the modified Lentz method), and its quantile by
bisection on that distribution function.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Sequence

__all__ = ["t_cdf", "t_quantile", "MeanCI", "PairedDiff", "mean_ci", "paired_difference"]


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz), for x < (a+1)/(a+b+2)."""
    tiny, eps = 1e-300, 1e-15
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 400):
        m2 = 2 * m
        for num in (m * (b - m) * x / ((qam + m2) * (a + m2)), -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + num / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < eps:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta function I_x(a, b) for 0 <= x <= 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    # The fraction converges fast only on one side of the mean; use the symmetry I_x(a,b) = 1 - I_{1-x}(b,a).
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with ``df`` degrees of freedom (df > 0)."""
    if df <= 0:
        raise ValueError(f"degrees of freedom must be positive, got {df}")
    if math.isinf(t):
        return 1.0 if t > 0 else 0.0
    tail = 0.5 * _betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


@lru_cache(maxsize=256)  # one quantile per (confidence, seed count) in a report
def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom (0 < p < 1)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"probability must be in (0, 1), got {p}")
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:  # bracket: t grows without bound as p -> 1 (fast for df = 1)
        lo, hi = hi, 2.0 * hi
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-12 * max(1.0, hi):
            break
    return 0.5 * (lo + hi)


@dataclass(frozen=True)
class MeanCI:
    """A mean over seeds with its t-interval (``low``/``high`` are NaN with fewer than 2 values)."""

    mean: float
    sd: float
    n: int
    low: float
    high: float

    def as_dict(self) -> dict:
        """Plain data for JSON (NaN stays NaN; ``json`` writes it as ``NaN``)."""
        return asdict(self)


@dataclass(frozen=True)
class PairedDiff:
    """The paired comparison of ``b`` against ``a`` over seeds.

    Attributes:
        mean_a, mean_b: the two means.
        diff: t-interval of the per-seed difference ``b - a``.
        p_value: two-sided p-value of "mean difference is 0" (NaN with fewer than 2 seeds).
    """

    mean_a: float
    mean_b: float
    diff: MeanCI
    p_value: float

    @property
    def significant(self) -> bool:
        """True when the interval excludes zero. Always False with fewer than 2 seeds, and with 2
        seeds whose differences are equal: accuracies move in steps of 1/(test videos), so two
        equal differences happen by chance and their zero spread says nothing."""
        if self.diff.n < 2 or (self.diff.n == 2 and self.diff.sd == 0):
            return False
        return self.diff.low > 0 or self.diff.high < 0

    def verdict(self, better: str = "higher", *, a: str = "a", b: str = "b") -> str:
        """One phrase: whether ``b`` beats ``a``, loses to it, or neither, at the interval's level.

        Args:
            better: ``"higher"`` if a larger value is better (accuracy), ``"lower"`` otherwise.
            a, b: names of the two sides for the sentence.
        """
        if self.diff.n < 2:
            return "one seed only: no interval"
        if self.diff.n == 2 and self.diff.sd == 0:
            return "two seeds with equal differences: no spread, no verdict"
        if not self.significant:
            return f"no significant difference between {b} and {a}"
        b_wins = (self.diff.low > 0) == (better == "higher")
        return f"{b} significantly {'better' if b_wins else 'worse'} than {a}"

    def as_dict(self) -> dict:
        """Plain data for JSON."""
        return {"mean_a": self.mean_a, "mean_b": self.mean_b, "diff": self.diff.as_dict(),
                "p_value": self.p_value, "significant": self.significant}


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> MeanCI:
    """Mean of ``values`` with its two-sided Student-t interval at ``confidence``.

    Raises:
        ValueError: no values, or ``confidence`` outside (0, 1).
    """
    xs = [float(v) for v in values]
    if not xs:
        raise ValueError("mean_ci: no values")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    n = len(xs)
    mean = math.fsum(xs) / n
    if n < 2:
        return MeanCI(mean, math.nan, n, math.nan, math.nan)
    sd = math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / (n - 1))
    half = t_quantile(0.5 + confidence / 2.0, n - 1) * sd / math.sqrt(n)
    return MeanCI(mean, sd, n, mean - half, mean + half)


def paired_difference(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> PairedDiff:
    """Paired comparison of ``b`` against ``a`` (same seeds, same order): the interval of ``b - a``.

    Raises:
        ValueError: the two sides have different lengths or are empty.
    """
    if len(a) != len(b):
        raise ValueError(f"paired_difference: {len(a)} values against {len(b)}; pair them by seed")
    diffs = [float(y) - float(x) for x, y in zip(a, b)]
    ci = mean_ci(diffs, confidence)
    p_value = math.nan
    if ci.n >= 2:
        if ci.sd > 0:
            t = ci.mean / (ci.sd / math.sqrt(ci.n))
            p_value = 2.0 * (1.0 - t_cdf(abs(t), ci.n - 1))
        elif ci.n > 2:  # identical differences: certain unless they are all zero
            p_value = 1.0 if ci.mean == 0 else 0.0
        # Two equal differences: no spread to test against (see PairedDiff.significant); p stays NaN.
    return PairedDiff(mean_ci(a, confidence).mean, mean_ci(b, confidence).mean, ci, p_value)
