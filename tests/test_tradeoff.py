"""Trade-off metrics, the confidence-exit baseline and the cost rules on hand-made numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pkdkit import tradeoff, wise


def pts(*pairs):
    return [{"cost": c, "accuracy": a} for c, a in pairs]


CURVE = pts((2.0, 0.5), (1.0, 0.6), (3.0, 0.55), (4.0, 0.8))  # full cost 4


def test_frontier_drops_dominated_points():
    x, a = tradeoff.frontier(CURVE, 4.0)
    np.testing.assert_allclose(x, [0.25, 1.0])
    np.testing.assert_allclose(a, [0.6, 0.8])


def test_accuracy_at_interpolates_linearly_and_refuses_unreachable_budgets():
    assert tradeoff.accuracy_at(CURVE, 4.0, 0.25) == pytest.approx(0.6)
    assert tradeoff.accuracy_at(CURVE, 4.0, 0.5) == pytest.approx(0.6 + 0.2 * 0.25 / 0.75)
    assert tradeoff.accuracy_at(CURVE, 4.0, 1.0) == pytest.approx(0.8)
    assert math.isnan(tradeoff.accuracy_at(CURVE, 4.0, 0.2))


def test_area_by_hand():
    # nothing below x = .25, then a trapezoid from (.25, .6) to (1, .8)
    assert tradeoff.area_under_curve(CURVE, 4.0) == pytest.approx(0.75 * (0.6 + 0.8) / 2)
    # one point: flat to the end
    assert tradeoff.area_under_curve(pts((1.0, 0.6)), 4.0) == pytest.approx(0.75 * 0.6)
    # a point beyond the full cost bends the last segment: a(1) = .5 + .4 * (.5 / 1.5)
    a1 = 0.5 + 0.4 * 0.5 / 1.5
    assert tradeoff.area_under_curve(pts((2.0, 0.5), (8.0, 0.9)), 4.0) == pytest.approx(0.5 * (0.5 + a1) / 2)
    # the full cost alone leaves no area; free perfect accuracy gives 1
    assert tradeoff.area_under_curve(pts((4.0, 0.9)), 4.0) == 0.0
    assert tradeoff.area_under_curve(pts((0.0, 1.0)), 4.0) == pytest.approx(1.0)


def test_summarise_and_markdown():
    s = tradeoff.summarise(CURVE, 4.0)
    assert set(s) == {"auc", "acc_at_25", "acc_at_50", "acc_at_75"}
    assert s["acc_at_75"] == pytest.approx(0.6 + 0.2 * 0.5 / 0.75)
    text = tradeoff.metrics_markdown({"cheap": tradeoff.summarise(pts((3.0, 0.7)), 4.0)})
    assert "| cheap | 17.50 | unreachable | unreachable | 70.00 |" in text


def test_bad_curves_are_clear_errors():
    with pytest.raises(ValueError, match="at least one point"):
        tradeoff.area_under_curve([], 1.0)
    with pytest.raises(ValueError, match="full_cost"):
        tradeoff.area_under_curve(CURVE, 0.0)


def _logits_for_confidence_exit():
    """K=3 exits, 4 samples, 2 classes; costs 1, 2, 3 (cumulative 1, 3, 6)."""
    z = np.zeros((3, 4, 2), np.float32)
    z[0, 0] = [10, 0]  # sample 0: sure and right at exit 1
    z[1, 1] = [0, 10]  # sample 1: unsure at exit 1, sure and WRONG at exit 2 (label 0)
    z[0, 2], z[1, 2], z[2, 2] = [0, 0], [0, 1], [0.5, 0]  # sample 2: never sure; exit 2 most confident
    z[0, 3], z[1, 3], z[2, 3] = [0.2, 0], [0, 0.1], [2, 0]  # sample 3: never sure; exit 3 most confident
    y = np.array([0, 0, 1, 0])
    return z, y, np.array([1.0, 2.0, 3.0])


def test_confidence_exit_by_hand():
    z, y, c = _logits_for_confidence_exit()
    r = tradeoff.confidence_exit(z, y, c, threshold=0.9)
    assert r["exit_stage"].tolist() == [0, 1, 2, 2]
    assert r["predictions"].tolist() == [0, 1, 1, 0]  # sample 2 takes exit 2's class, 1
    assert r["accuracy"] == pytest.approx(3 / 4)
    assert r["cost"] == pytest.approx((1 + 3 + 6 + 6) / 4)  # the wrong early exit is charged too
    assert r["exit_histogram"] == [1, 1, 2]


def test_confidence_sweep_ends():
    z, y, c = _logits_for_confidence_exit()
    never, always = tradeoff.sweep_confidence_exit(z, y, c, [1.0, 0.0])
    assert never["exit_histogram"] == [0, 0, 4] and never["cost"] == pytest.approx(6.0)
    assert always["exit_histogram"] == [4, 0, 0] and always["cost"] == pytest.approx(1.0)
    assert "predictions" not in never


def test_cost_rules_by_hand():
    names = list(wise.CASCADE)
    costs = np.ones(12)  # cumulative cost of stage s (0-based) is s + 1
    stage = np.array([5, 5, 0, 11])  # MV2 right, MV2 wrong, R1 wrong, I4 wrong
    right = np.array([True, False, False, False])
    assert tradeoff.cascade_cost(stage, right, costs, "every_video") == pytest.approx((6 + 6 + 1 + 12) / 4)
    assert tradeoff.cascade_cost(stage, right, costs, "authors_scripts", names) == pytest.approx((12 + 6 + 1 + 12) / 4)
    assert tradeoff.cascade_cost(stage, right, costs, "free_wrong_exits") == pytest.approx((6 + 0 + 0 + 12) / 4)
    with pytest.raises(ValueError, match="unknown cost rule"):
        tradeoff.cascade_cost(stage, right, costs, "bogus")


def test_cost_rules_table_matches_the_cascade_cost():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 3, (12, 200, 4)).astype(np.float32)
    y = rng.integers(0, 4, 200)
    costs = np.arange(1, 13, dtype=float)
    model = wise.WiseModel(np.eye(12), costs, list(wise.CASCADE), variant="no_lateral")
    rows = tradeoff.cost_rules_table(model, z, y, [0.5, 0.9, 1.0])
    for row in rows:
        r = model.evaluate(z, y, row["threshold"])
        assert row["every_video"] == pytest.approx(r["cost"])
        assert row["free_wrong_exits"] <= row["every_video"] <= row["authors_scripts"]
    assert rows[-1]["every_video"] == pytest.approx(costs.sum())  # threshold 1: all reach the last stage
    assert rows[-1]["authors_scripts"] == pytest.approx(costs.sum())
