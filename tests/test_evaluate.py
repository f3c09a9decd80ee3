"""Logits files, per-exit accuracy, MAC counting and the `pkdkit wise` commands end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from pkdkit import evaluate, wise
from pkdkit.cli import main

from wise_logits import COSTS, informative_logits


def make_file(path, seed):
    z, y = informative_logits(600, seed=seed)
    evaluate.save_logits(path, evaluate.ExitLogits(z, y, list(wise.CASCADE), COSTS * 1e9))
    return z, y


def test_logits_round_trip_and_reorder(tmp_path):
    z, y = make_file(tmp_path / "l.npz", 0)
    back = evaluate.load_logits(tmp_path / "l.npz")
    np.testing.assert_array_equal(back.logits, z)
    rev = back.select(list(reversed(wise.CASCADE)))
    np.testing.assert_array_equal(rev.logits[0], z[-1])
    assert rev.costs[0] == COSTS[-1] * 1e9


def test_bad_logits_files_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no logits file"):
        evaluate.load_logits(tmp_path / "nope.npz")
    np.savez(tmp_path / "x.npz", logits=np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="missing"):
        evaluate.load_logits(tmp_path / "x.npz")
    with pytest.raises(ValueError, match="inconsistent"):
        evaluate.ExitLogits(np.zeros((2, 3, 4)), np.zeros(5), ["a", "b"], np.zeros(2))


def test_per_exit_accuracy_by_hand():
    z = np.zeros((2, 4, 3), np.float32)
    z[0, :, 0] = 1  # exit a always says class 0
    z[1, np.arange(4), [0, 1, 2, 0]] = 1  # exit b is right on every sample
    acc = evaluate.per_exit_accuracy(evaluate.ExitLogits(z, [0, 1, 2, 0], ["a", "b"], [1, 1]))
    assert acc == {"a": 0.5, "b": 1.0}


def test_count_macs_of_a_linear_and_a_conv_layer():
    lin = torch.nn.Linear(10, 7, bias=False)
    assert evaluate.count_macs(lambda: lin(torch.zeros(3, 10))) == 3 * 10 * 7
    conv = torch.nn.Conv2d(2, 4, 3, padding=1, bias=False)
    assert evaluate.count_macs(lambda: conv(torch.zeros(1, 2, 5, 5))) == 5 * 5 * 4 * 2 * 9
    np.testing.assert_allclose(evaluate.incremental_costs([1, 3, 6]), [1, 2, 3])


def test_wise_fit_and_eval_commands(tmp_path):
    make_file(tmp_path / "train.npz", 1)
    make_file(tmp_path / "test.npz", 2)
    runner = CliRunner()
    r = runner.invoke(main, ["wise", "fit", "--train-logits", str(tmp_path / "train.npz"),
                             "--out", str(tmp_path / "m.json"), "--iterations", "100"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["wise", "eval", "--model", str(tmp_path / "m.json"), "--test-logits",
                             str(tmp_path / "test.npz"), "--thresholds", "0,0.9,1", "--out", str(tmp_path / "rep")])
    assert r.exit_code == 0, r.output
    report = json.loads((tmp_path / "rep" / "tradeoff.json").read_text())
    assert set(report["curves"]) == {"WISE (wise)", "WISE (no_division)", "no scaling", "no lateral",
                                     evaluate.CONFIDENCE_LABEL}
    # every curve and baseline has its trade-off metrics, on the full cascade's cost
    assert report["full_cost"] == pytest.approx(COSTS.sum() * 1e9)
    assert set(report["metrics"]) == set(report["curves"]) | {"CoViAR 2:1:1"}
    assert report["metrics"]["CoViAR 2:1:1"]["auc"] == 0.0  # all three networks: the full cost
    assert [r["threshold"] for r in report["cost_rules"]] == [0.0, 0.9, 1.0]
    full = [row for row in report["curves"]["WISE (wise)"] if row["threshold"] == 1.0][0]
    first = [row for row in report["curves"]["WISE (wise)"] if row["threshold"] == 0.0][0]
    assert full["cost"] == pytest.approx(COSTS.sum() * 1e9)
    assert first["cost"] == pytest.approx(COSTS[0] * 1e9)
    assert full["accuracy"] > report["curves"]["no lateral"][-1]["accuracy"]  # three good exits beat I4 alone
    assert "CoViAR 2:1:1" in report["baselines"]
    assert (tmp_path / "rep" / "tradeoff.png").stat().st_size > 10_000
    md = (tmp_path / "rep" / "tradeoff.md").read_text()
    assert "| WISE (wise) | 1 |" in md
    assert "Trade-off metrics" in md and "Cost accounting" in md


def test_wise_commands_reject_bad_input_in_one_line(tmp_path):
    runner = CliRunner()
    r = runner.invoke(main, ["wise", "fit", "--train-logits", str(tmp_path / "missing.npz"), "--out", "m.json"])
    assert r.exit_code == 1 and "no logits file" in r.output and "Traceback" not in r.output
    make_file(tmp_path / "t.npz", 3)
    r = runner.invoke(main, ["wise", "fit", "--train-logits", str(tmp_path / "t.npz"),
                             "--out", str(tmp_path / "m.json"), "--iterations", "1"])
    r = runner.invoke(main, ["wise", "eval", "--model", str(tmp_path / "m.json"), "--test-logits",
                             str(tmp_path / "t.npz"), "--thresholds", "2", "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "thresholds must lie in [0, 1]" in r.output
