"""WISE on synthetic logits whose best weighting is known."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pkdkit import wise

from wise_logits import COSTS, C, K, informative_logits


def test_fitting_beats_equal_weights_on_held_out_logits():
    z_train, y_train = informative_logits(2000, seed=0)
    z_test, y_test = informative_logits(2000, seed=1)
    fitted = wise.fit(z_train, y_train, COSTS, device="cpu")
    equal = wise.fit(z_train, y_train, COSTS, variant="no_scaling", device="cpu")
    acc_fit = fitted.evaluate(z_test, y_test, threshold=1.0)["accuracy"]
    acc_equal = equal.evaluate(z_test, y_test, threshold=1.0)["accuracy"]
    assert acc_fit > acc_equal + 0.15, (acc_fit, acc_equal)
    # The last stage learned to trust the good exits far more than the noisy ones.
    last = fitted.weights[-1]
    assert np.abs(last[[3, 7, 11]]).min() > 3 * np.abs(last[[0, 1, 2, 4, 5]]).max()


def test_weights_are_lower_triangular_and_start_from_ones():
    z, y = informative_logits(300, seed=2)
    untrained = wise.fit(z, y, COSTS, iterations=0, device="cpu")
    np.testing.assert_array_equal(untrained.weights, np.tril(np.ones((K, K))))
    trained = wise.fit(z, y, COSTS, iterations=20, device="cpu")
    assert np.all(np.triu(trained.weights, 1) == 0)
    lateral = wise.fit(z, y, COSTS, variant="no_lateral", device="cpu")
    np.testing.assert_array_equal(lateral.weights, np.eye(K))


def test_threshold_one_uses_every_exit_and_costs_the_sum():
    z, y = informative_logits(400, seed=3)
    model = wise.fit(z, y, COSTS, iterations=50, device="cpu")
    r = model.evaluate(z, y, threshold=1.0)
    assert r["exit_histogram"] == [0] * (K - 1) + [400]
    assert r["cost"] == pytest.approx(COSTS.sum())


def test_threshold_zero_stops_at_the_first_exit():
    z, y = informative_logits(400, seed=4)
    model = wise.fit(z, y, COSTS, iterations=50, device="cpu")
    r = model.evaluate(z, y, threshold=0.0)
    assert r["exit_histogram"][0] == 400
    assert r["cost"] == pytest.approx(COSTS[0])
    # At threshold 0 the prediction is the first exit's own argmax.
    np.testing.assert_array_equal(r["predictions"], z[0].argmax(-1))


def test_costs_add_up_by_hand():
    """Three samples built to leave at stages 1, 2 and 12 under no_lateral (each exit alone)."""
    z = np.zeros((K, 3, C), np.float32)
    z[0, 0, 2] = 50.0  # sample 0: confident at exit 1
    z[1, 1, 4] = 50.0  # sample 1: unsure at exit 1, confident at exit 2
    z[K - 1, 2, 1] = 0.1  # sample 2: never confident -> last stage
    y = np.array([2, 4, 1])
    model = wise.WiseModel(weights=np.eye(K), costs=COSTS, names=list(wise.CASCADE), variant="no_lateral")
    r = model.evaluate(z, y, threshold=0.9)
    assert r["exit_stage"].tolist() == [0, 1, K - 1]
    assert r["cost"] == pytest.approx((COSTS[0] + COSTS[:2].sum() + COSTS.sum()) / 3)
    assert r["accuracy"] == 1.0
    assert r["exit_histogram"][0] == 1 and r["exit_histogram"][1] == 1 and r["exit_histogram"][-1] == 1


def test_division_changes_confidence_not_the_argmax():
    z, y = informative_logits(300, seed=5)
    divided = wise.fit(z, y, COSTS, iterations=30, device="cpu")
    plain = wise.WiseModel(divided.weights, COSTS, list(wise.CASCADE), variant="no_division")
    a, b = divided.evaluate(z, y, 1.0), plain.evaluate(z, y, 1.0)
    np.testing.assert_array_equal(a["predictions"], b["predictions"])
    sd, sp = divided.stage_logits(z), plain.stage_logits(z)
    torch.testing.assert_close(sd * torch.arange(1, K + 1).view(-1, 1, 1).float(), sp)


def test_anytime_decision_matches_the_batched_cascade():
    z, y = informative_logits(50, seed=6)
    model = wise.fit(z, y, COSTS, iterations=100, device="cpu")
    batch = model.evaluate(z, y, threshold=0.6)
    for i in range(50):
        for k in range(1, K + 1):
            stop, cls, _ = model.predict_stage([z[j, i] for j in range(k)], threshold=0.6)
            if stop:
                break
        assert k - 1 == batch["exit_stage"][i]
        assert cls == batch["predictions"][i]


def test_calibration_lowers_the_nll_of_overconfident_stages():
    z, y = informative_logits(1000, seed=7)
    z = z * 4.0  # overconfident logits
    raw = wise.fit(z, y, COSTS, iterations=50, device="cpu")
    cal = wise.fit(z, y, COSTS, iterations=50, calibrate=True, device="cpu")

    def nll(m):
        s = m.stage_logits(z)
        return torch.nn.functional.cross_entropy(s[-1], torch.as_tensor(y)).item()

    assert nll(cal) < nll(raw)
    assert np.all(cal.temperatures > 0)


def test_coviar_fusion_is_two_one_one_of_the_final_exits():
    rng = np.random.default_rng(8)
    z = rng.normal(size=(K, 100, C)).astype(np.float32)
    y = rng.integers(0, C, 100)
    names = list(wise.CASCADE)
    fused = 2 * z[names.index("I4")] + z[names.index("MV4")] + z[names.index("R4")]
    r = wise.coviar_fusion(z, y, COSTS)
    assert r["accuracy"] == pytest.approx(float((fused.argmax(-1) == y).mean()))
    assert r["cost"] == pytest.approx(COSTS.sum())


def test_save_load_round_trip(tmp_path):
    z, y = informative_logits(200, seed=9)
    model = wise.fit(z, y, COSTS, iterations=10, device="cpu")
    model.save(tmp_path / "wise.json")
    back = wise.WiseModel.load(tmp_path / "wise.json")
    np.testing.assert_array_equal(back.weights, model.weights)
    assert back.evaluate(z, y, 0.7)["accuracy"] == model.evaluate(z, y, 0.7)["accuracy"]


def test_bad_shapes_and_names_are_clear_errors():
    z, y = informative_logits(20, seed=10)
    with pytest.raises(ValueError, match="exits, samples, classes"):
        wise.fit(z[0], y)
    with pytest.raises(ValueError, match="labels must be"):
        wise.fit(z, y[:5])
    with pytest.raises(ValueError, match="variant"):
        wise.fit(z, y, variant="bogus")
    with pytest.raises(ValueError, match="lack exits"):
        wise.cascade_order(["R1", "R2"])
    assert wise.cascade_order(list(reversed(wise.CASCADE))) == list(range(K - 1, -1, -1))
