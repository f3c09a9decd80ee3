"""pkdkit.stats: Student's t against closed forms and printed tables, intervals computed by hand,
and the interval's coverage on simulated data."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pkdkit.stats import mean_ci, paired_difference, t_cdf, t_quantile

PROBS = (0.6, 0.75, 0.9, 0.975, 0.995, 0.9995)


@pytest.mark.parametrize("p", PROBS)
def test_t_quantile_closed_forms(p: float) -> None:
    # df = 1 is the Cauchy distribution; df = 2 and df = 4 have closed-form quantiles too.
    assert t_quantile(p, 1) == pytest.approx(math.tan(math.pi * (p - 0.5)), rel=1e-9)
    assert t_quantile(p, 2) == pytest.approx((2 * p - 1) / math.sqrt(2 * p * (1 - p)), rel=1e-9)
    alpha = 4 * p * (1 - p)
    q4 = math.sqrt(4 / math.sqrt(alpha) * math.cos(math.acos(math.sqrt(alpha)) / 3) - 4)
    assert t_quantile(p, 4) == pytest.approx(q4, rel=1e-9)
    assert t_quantile(1 - p, 4) == pytest.approx(-q4, rel=1e-9)


def test_t_quantile_table_values() -> None:
    # Two-sided 95 % critical values as printed in every t table.
    table = {3: 3.182, 5: 2.571, 9: 2.262, 19: 2.093, 29: 2.045, 60: 2.000}
    for df, value in table.items():
        assert t_quantile(0.975, df) == pytest.approx(value, abs=6e-4)
    # Far out it is the normal quantile.
    assert t_quantile(0.975, 1e7) == pytest.approx(1.959964, abs=1e-5)


def test_t_cdf_inverts_the_quantile_and_is_symmetric() -> None:
    for df in (1, 2.5, 7, 40):
        assert t_cdf(0.0, df) == pytest.approx(0.5)
        for p in PROBS:
            assert t_cdf(t_quantile(p, df), df) == pytest.approx(p, abs=1e-10)
        assert t_cdf(-1.3, df) == pytest.approx(1 - t_cdf(1.3, df), abs=1e-12)
    with pytest.raises(ValueError, match="degrees of freedom"):
        t_cdf(1.0, 0)
    with pytest.raises(ValueError, match="probability"):
        t_quantile(1.0, 3)


def test_mean_ci_by_hand() -> None:
    ci = mean_ci([1, 2, 3, 4, 5])
    half = 2.776445105 * math.sqrt(2.5) / math.sqrt(5)
    assert (ci.mean, ci.n) == (3.0, 5)
    assert ci.sd == pytest.approx(math.sqrt(2.5))
    assert (ci.low, ci.high) == (pytest.approx(3 - half), pytest.approx(3 + half))
    one = mean_ci([0.7])
    assert one.mean == 0.7 and math.isnan(one.low) and math.isnan(one.high)
    with pytest.raises(ValueError, match="no values"):
        mean_ci([])


def test_paired_difference_by_hand() -> None:
    ce = [0.50, 0.60, 0.55, 0.58]
    pkd = [0.56, 0.63, 0.61, 0.60]  # differences 0.06, 0.03, 0.06, 0.02
    result = paired_difference(ce, pkd)
    d = np.array(pkd) - np.array(ce)
    half = 3.182446305 * d.std(ddof=1) / 2
    assert result.diff.mean == pytest.approx(0.0425)
    assert (result.diff.low, result.diff.high) == (pytest.approx(0.0425 - half), pytest.approx(0.0425 + half))
    assert result.significant and result.diff.low > 0
    t = 0.0425 / (d.std(ddof=1) / 2)
    assert result.p_value == pytest.approx(2 * (1 - t_cdf(t, 3)))
    assert result.p_value < 0.05
    assert result.verdict(a="CE", b="PKD") == "PKD significantly better than CE"
    # Lower is better (a sharpness): the same interval reads the other way.
    assert result.verdict("lower", a="I", b="MV") == "MV significantly worse than I"
    # Swapping the pairing shows the unpaired view can hide a consistent gain: the same values with
    # the seeds scrambled are not significant.
    scrambled = paired_difference(ce, [pkd[1], pkd[0], pkd[3], pkd[2]])
    assert not scrambled.significant
    assert scrambled.verdict(a="CE", b="PKD") == "no significant difference between PKD and CE"


def test_paired_difference_edge_cases() -> None:
    same_gain = paired_difference([1.0, 2.0, 3.0], [1.5, 2.5, 3.5])
    assert same_gain.diff.sd == 0 and same_gain.significant and same_gain.p_value == 0.0
    assert not paired_difference([1.0, 2.0], [1.0, 2.0]).significant
    # Two seeds that happen to differ by the same step: no spread to judge by.
    twice = paired_difference([0.50, 0.60], [0.52, 0.62])
    assert not twice.significant and twice.verdict() == "two seeds with equal differences: no spread, no verdict"
    single = paired_difference([0.4], [0.5])
    assert not single.significant and single.verdict().startswith("one seed only")
    with pytest.raises(ValueError, match="pair them by seed"):
        paired_difference([1.0, 2.0], [1.0])


def test_interval_covers_the_true_mean_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(0)
    trials, n = 4000, 5
    hits = 0
    for sample in rng.normal(1.0, 2.0, (trials, n)):
        ci = mean_ci(sample)
        hits += ci.low <= 1.0 <= ci.high
    # Binomial standard deviation at 4000 trials: 0.0034; allow about 4 of them.
    assert abs(hits / trials - 0.95) < 0.014
