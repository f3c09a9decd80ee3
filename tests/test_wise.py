"""WISE on synthetic logits whose best weighting is known."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from pkdkit import wise

from wise_logits import COSTS, C, K, informative_logits


def test_fitting_beats_equal_weights_on_held_out_logits():
    z_train, y_train = informative_logits(2000, seed=0)
    z_test, y_test = informative_logits(2000, seed=1)
    # pkdkit's 12-exit last stage: the fit must find the good exits among all twelve.
    fitted = wise.fit(z_train, y_train, COSTS, last_stage="cascade", device="cpu")
    equal = wise.fit(z_train, y_train, COSTS, variant="no_scaling", last_stage="cascade", device="cpu")
    acc_fit = fitted.evaluate(z_test, y_test, threshold=1.0)["accuracy"]
    acc_equal = equal.evaluate(z_test, y_test, threshold=1.0)["accuracy"]
    assert acc_fit > acc_equal + 0.15, (acc_fit, acc_equal)
    # The last stage learned to trust the good exits far more than the noisy ones.
    last = fitted.weights[-1]
    assert np.abs(last[[3, 7, 11]]).min() > 3 * np.abs(last[[0, 1, 2, 4, 5]]).max()


def test_weights_are_lower_triangular_and_start_from_ones():
    z, y = informative_logits(300, seed=2)
    untrained = wise.fit(z, y, COSTS, iterations=0, last_stage="cascade", device="cpu")
    np.testing.assert_array_equal(untrained.weights, np.tril(np.ones((K, K))))
    authors = wise.fit(z, y, COSTS, iterations=0, device="cpu")
    fallback = np.zeros(K)
    fallback[[wise.CASCADE.index(n) for n in ("I4", "R4", "MV4")]] = 1
    np.testing.assert_array_equal(authors.weights[:-1], np.tril(np.ones((K, K)))[:-1])
    np.testing.assert_array_equal(authors.weights[-1], fallback)
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
    d = torch.arange(1, K + 1).float()
    d[-1] = 3  # the authors' last stage: (a*I4 + b*R4 + c*MV4) / 3
    torch.testing.assert_close(sd * d.view(-1, 1, 1), sp)


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


# --- The defaults are the authors' WISE (wise_ucf101_kinetics_pretrained.py, main / main_no_scaling) ---


def authors_cascade(z, y, stage_weights, fallback, threshold, divide=True):
    """The authors' per-video if/elif cascade, written from their formula.

    Stage 1 tests softmax(R1) on raw logits; stage k = 2..11 tests softmax(sum_j w_j z_j / k);
    a video that passes none takes argmax(a*I4 + b*R4 + c*MV4) (/3). Returns predictions and stages.
    """
    names = list(wise.CASCADE)
    i4, r4, mv4 = (names.index(n) for n in ("I4", "R4", "MV4"))
    preds, stages = [], []
    for n in range(z.shape[1]):
        for k in range(1, K):  # stages 1..11
            combined = z[0, n] if k == 1 else sum(stage_weights[k - 1][j] * z[j, n] for j in range(k))
            if k > 1 and divide:
                combined = combined / k
            p = np.exp(combined - combined.max())
            p /= p.sum()
            if p.max() > threshold:
                preds.append(int(np.argmax(combined)))
                stages.append(k - 1)
                break
        else:
            a, b, c = fallback
            preds.append(int(np.argmax((a * z[i4, n] + b * z[r4, n] + c * z[mv4, n]) / (3 if divide else 1))))
            stages.append(K - 1)
    return np.array(preds), np.array(stages)


def authors_sgd(z, y, idx, alpha, iterations=500):
    """The authors' optimize_scaling_coefficients for one stage: weights from 1, SGD lr 0.1."""
    w = torch.nn.Parameter(torch.ones(len(idx)))
    opt = torch.optim.SGD([w], lr=0.1)
    zt, yt = torch.as_tensor(z[idx]), torch.as_tensor(y)
    for _ in range(iterations):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy((w.view(-1, 1, 1) * zt).sum(0), yt) + alpha * w.abs().sum()
        loss.backward()
        opt.step()
    return w.detach().numpy()


def test_default_fit_holds_r1_raw_and_fits_the_three_head_fallback_like_the_authors():
    z, y = informative_logits(300, seed=11)
    model = wise.fit(z, y, COSTS, iterations=60, device="cpu")
    assert model.weights[0, 0] == 1.0 and model.first_stage == "raw" and model.last_stage == "authors"
    names = list(wise.CASCADE)
    idx = [names.index(n) for n in ("I4", "R4", "MV4")]
    np.testing.assert_allclose(model.weights[-1, idx], authors_sgd(z, y, idx, 0.1, 60), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(model.weights[5, :6], authors_sgd(z, y, list(range(6)), 0.1, 60), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(model.weights[2, :3], authors_sgd(z, y, [0, 1, 2], 0.0, 60), rtol=1e-4, atol=1e-5)
    learned = wise.fit(z, y, COSTS, iterations=60, learn_first_stage=True, device="cpu")
    assert learned.weights[0, 0] != 1.0 and learned.first_stage == "learned"


@pytest.mark.parametrize("threshold", [0.3, 0.6, 0.9, 1.0])
@pytest.mark.parametrize("variant", ["wise", "no_division", "no_scaling"])
def test_default_cascade_is_the_authors_formula(variant, threshold):
    z, y = informative_logits(200, seed=12)
    z = z * 0.7  # confidences spread over the thresholds
    model = wise.fit(z, y, COSTS, variant=variant, iterations=40, device="cpu")
    names = list(wise.CASCADE)
    fallback = model.weights[-1, [names.index(n) for n in ("I4", "R4", "MV4")]]
    if variant == "no_scaling":
        np.testing.assert_array_equal(fallback, [1, 1, 1])  # (I4 + R4 + MV4) / 3
    preds, stages = authors_cascade(z, y, model.weights, fallback, threshold, divide=variant != "no_division")
    r = model.evaluate(z, y, threshold)
    np.testing.assert_array_equal(r["exit_stage"], stages)
    np.testing.assert_array_equal(r["predictions"], preds)


def test_last_stage_option_changes_only_the_fallback():
    z, y = informative_logits(300, seed=13)
    authors = wise.fit(z, y, COSTS, iterations=40, device="cpu")
    cascade = wise.fit(z, y, COSTS, iterations=40, last_stage="cascade", device="cpu")
    np.testing.assert_allclose(authors.weights[:-1], cascade.weights[:-1], rtol=1e-6, atol=1e-7)
    assert np.count_nonzero(authors.weights[-1]) == 3 and np.count_nonzero(cascade.weights[-1]) == K
    with pytest.raises(ValueError, match="last_stage"):
        wise.fit(z, y, COSTS, last_stage="bogus")
    with pytest.raises(ValueError, match="needs exits"):
        wise.fit(z[:4], y, COSTS[:4], names=["R1", "R2", "R3", "R4"])


def test_old_model_files_load_with_their_own_last_stage(tmp_path):
    z, y = informative_logits(100, seed=14)
    model = wise.fit(z, y, COSTS, iterations=5, last_stage="cascade", device="cpu")
    model.save(tmp_path / "m.json")
    data = json.loads((tmp_path / "m.json").read_text())
    del data["last_stage"], data["first_stage"]  # a file written before the options existed
    (tmp_path / "old.json").write_text(json.dumps(data))
    old = wise.WiseModel.load(tmp_path / "old.json")
    assert old.last_stage == "cascade" and old.first_stage == "learned"
    np.testing.assert_array_equal(old.divisors(), np.arange(1, K + 1))


def test_comparison_models_keep_the_authors_last_stage():
    z, y = informative_logits(100, seed=15)
    models = wise.comparison_models(wise.fit(z, y, COSTS, iterations=5, device="cpu"))
    assert {m.last_stage for m in models.values()} == {"authors"}
    assert np.count_nonzero(models["no scaling"].weights[-1]) == 3
    assert "3-head" in wise.describe(models["WISE (wise)"]) and "I4 alone" in wise.describe(models["no lateral"])
