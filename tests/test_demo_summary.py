"""pkdkit.demo.summary and `pkdkit compare` on hand-made demo results with known answers."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from pkdkit.demo.summary import compare_runs, load_runs, render_summary, write_summary

SEEDS = (0, 1, 2, 3)
# Per seed, per modality, exits 1-4 under CE; PKD adds a known per-seed gain to exits 1-3.
CE = {
    "iframe": [[0.40, 0.45, 0.50, 0.60], [0.42, 0.47, 0.55, 0.62], [0.38, 0.44, 0.52, 0.58], [0.41, 0.46, 0.50, 0.61]],
    "residual": [[0.30, 0.35, 0.40, 0.50], [0.31, 0.36, 0.42, 0.52], [0.29, 0.33, 0.41, 0.49],
                 [0.30, 0.34, 0.39, 0.51]],
    "mv": [[0.25, 0.30, 0.35, 0.40], [0.26, 0.31, 0.33, 0.41], [0.24, 0.29, 0.36, 0.42], [0.25, 0.30, 0.34, 0.39]],
}
GAIN = {"iframe": [0.05, 0.04, 0.06, 0.05], "residual": [0.02, -0.03, 0.04, -0.01], "mv": [-0.05, -0.04, -0.06, -0.05]}


def _results(i: int, seed: int) -> dict:
    accuracy = {m: {"ce": CE[m][i], "pkd": [a + GAIN[m][i] for a in CE[m][i][:3]] + [CE[m][i][3]]} for m in CE}
    flat = {  # I flatter than R flatter than MV by every metric, with a little seed noise
        "iframe": (10 + i, 50 + 2 * i, 0.1, 0.5),
        "residual": (20 + i, 90 - i, 0.1, 0.9),
        "mv": (40 - i, 200, 0.1, 1.6 + 0.1 * i),
    }
    return {
        "settings": {"seed": seed, "preset": "actions", "classes": 8, "videos_per_class": 30, "frames": 36,
                     "size": [128, 96], "num_segments": 3, "input_size": 64, "backbone_epochs": 24, "ic_epochs": 6},
        "chance": 0.125,
        "accuracy": accuracy,
        "tradeoff": {
            "curves": {
                "WISE, PKD ICs": [{"threshold": 0.9, "accuracy": 0.6, "cost": 5e7},
                                  {"threshold": 1.0, "accuracy": 0.80 + 0.01 * i, "cost": 7e7}],
                "WISE, CE ICs": [{"threshold": 1.0, "accuracy": 0.78 + 0.01 * i, "cost": 7e7}],
            },
            "baselines": {"CoViAR 2:1:1": {"accuracy": [0.70, 0.74, 0.69, 0.75][i], "cost": 7e7}},
        },
        "flatness": {m: {"top_eigenvalue": e, "trace": t, "loss_at_minimum": lo, "loss_at_edges": hi}
                     for m, (e, t, lo, hi) in flat.items()},
        "wall_seconds": 100.0 + i,
        "tradeoff_metrics": {
            "WISE, PKD ICs": {"auc": 0.50 + 0.01 * i, "acc_at_25": None if i == 0 else 0.4, "acc_at_50": 0.6},
            "WISE, CE ICs": {"auc": 0.45 + 0.01 * i, "acc_at_25": 0.3, "acc_at_50": 0.6 - 0.01 * i},
            "confidence exit (SDN), PKD ICs": {"auc": [0.52, 0.49, 0.55, 0.50][i], "acc_at_25": 0.35,
                                               "acc_at_50": 0.5},
        },
    }


@pytest.fixture
def run_dirs(tmp_path: Path) -> list[Path]:
    dirs = []
    for i, seed in enumerate(SEEDS):
        d = tmp_path / f"seed-{seed}"
        d.mkdir()
        (d / "results.json").write_text(json.dumps(_results(i, seed)))
        dirs.append(d)
    return dirs


def _half_width(values: list[float]) -> float:
    return 3.182446305 * float(np.std(values, ddof=1)) / math.sqrt(len(values))  # t_{0.975, 3}


def test_per_exit_pkd_vs_ce_intervals(run_dirs: list[Path]) -> None:
    summary = compare_runs(load_runs(run_dirs))
    assert summary["n"] == 4 and summary["seeds"] == list(SEEDS)
    for m in CE:
        for e in range(3):
            pair = summary["per_exit"][m][e]
            assert pair["diff"]["mean"] == pytest.approx(np.mean(GAIN[m]))
            assert pair["diff"]["high"] - pair["diff"]["mean"] == pytest.approx(_half_width(GAIN[m]))
            assert pair["mean_a"] == pytest.approx(np.mean([CE[m][i][e] for i in range(4)]))
        # Exit 4 is the backbone's own: no difference at all.
        assert summary["per_exit"][m][3]["diff"]["mean"] == 0
    assert summary["per_exit"]["iframe"][0]["verdict"] == "PKD significantly better than CE"
    assert summary["per_exit"]["residual"][0]["verdict"] == "no significant difference between PKD and CE"
    assert summary["per_exit"]["mv"][0]["verdict"] == "PKD significantly worse than CE"


def test_orderings_wise_and_flatness(run_dirs: list[Path]) -> None:
    summary = compare_runs(load_runs(run_dirs))
    i4 = [CE["iframe"][i][3] for i in range(4)]
    r4 = [CE["residual"][i][3] for i in range(4)]
    assert summary["ordering"]["I vs R"]["diff"]["mean"] == pytest.approx(np.mean(i4) - np.mean(r4))
    assert all(p["significant"] for p in summary["ordering"].values())
    assert summary["above_chance"]["mv"]["diff"]["mean"] == pytest.approx(0.405 - 0.125)
    coviar = [0.70, 0.74, 0.69, 0.75]
    wise = [0.80, 0.81, 0.82, 0.83]
    pair = summary["wise"]["pkd"]["vs_coviar"]
    d = [w - c for w, c in zip(wise, coviar)]
    assert pair["diff"]["mean"] == pytest.approx(np.mean(d))
    assert pair["diff"]["low"] == pytest.approx(np.mean(d) - _half_width(d))
    assert pair["verdict"] == "WISE, PKD ICs significantly better than CoViAR 2:1:1"
    # WISE on PKD ICs is 0.02 above WISE on CE ICs at every seed: a constant difference.
    assert summary["wise_pkd_vs_ce"]["diff"]["mean"] == pytest.approx(0.02)
    assert summary["wise_pkd_vs_ce"]["significant"]
    flat = summary["flatness"]
    assert flat["top_eigenvalue"]["I vs R"]["verdict"] == "I significantly better than R"
    assert flat["landscape_rise"]["R vs MV"]["diff"]["mean"] == pytest.approx((0.9 - 0.1) - (1.6 + 0.15 - 0.1))
    text = render_summary(summary)
    assert "**The order I > R > MV holds, every step significant.**" in text
    gains = "**PKD's gain over CE is significant at 3 of 9 internal exits** (I1, I2, I3), a significant loss at 3"
    assert gains in text
    assert "I significantly flatter than R" in text
    assert "The paper's flatness order holds significantly for: top Hessian eigenvalue, Hessian trace, 1-D" in text


def test_one_run_has_no_intervals(run_dirs: list[Path]) -> None:
    summary = compare_runs(load_runs(run_dirs[:1]))
    text = render_summary(summary)
    assert "With one run there are no intervals" in text
    assert summary["per_exit"]["iframe"][0]["verdict"].startswith("one seed only")
    assert "not established at 95 %" in text


def test_refuses_mixed_or_repeated_runs(run_dirs: list[Path], tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    results = _results(0, 9)
    results["settings"]["classes"] = 6
    (other / "results.json").write_text(json.dumps(results))
    with pytest.raises(ValueError, match="settings differ .* in classes"):
        load_runs([run_dirs[0], other])
    with pytest.raises(ValueError, match="seeds repeat"):
        load_runs([run_dirs[0], run_dirs[0]])
    with pytest.raises(FileNotFoundError, match="results.json: missing"):
        load_runs([tmp_path])


def test_compare_cli(run_dirs: list[Path], tmp_path: Path) -> None:
    from pkdkit.cli import main

    out = tmp_path / "summary"
    result = CliRunner().invoke(main, ["compare", *map(str, run_dirs), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "# pkdkit demo: results over seeds" in result.output
    assert (out / "summary.md").read_text() == result.output
    summary, _ = write_summary(run_dirs)
    assert json.loads((out / "summary.json").read_text())["per_exit"]["mv"][1]["diff"]["mean"] == pytest.approx(
        summary["per_exit"]["mv"][1]["diff"]["mean"])
    missing = CliRunner().invoke(main, ["compare", str(tmp_path)])
    assert missing.exit_code == 1 and "results.json: missing" in missing.output


def test_tradeoff_metrics_over_seeds(run_dirs: list[Path]) -> None:
    table = compare_runs(load_runs(run_dirs))["tradeoff_metrics"]
    assert table["curves"]["WISE, PKD ICs"]["auc"]["mean"] == pytest.approx(0.515)
    # A budget out of reach in one run (None) has no interval and no comparison.
    assert math.isnan(table["curves"]["WISE, PKD ICs"]["acc_at_25"]["mean"])
    vs_ce = table["comparisons"]["WISE, PKD ICs vs WISE, CE ICs"]
    assert "acc_at_25" not in vs_ce
    assert vs_ce["auc"]["diff"]["mean"] == pytest.approx(0.05) and vs_ce["auc"]["significant"]
    assert vs_ce["acc_at_50"]["diff"]["mean"] == pytest.approx(np.mean([0.0, 0.01, 0.02, 0.03]))
    vs_sdn = table["comparisons"]["WISE, PKD ICs vs confidence exit (SDN), PKD ICs"]["auc"]
    d = [0.50 - 0.52, 0.51 - 0.49, 0.52 - 0.55, 0.53 - 0.50]
    assert vs_sdn["diff"]["mean"] == pytest.approx(np.mean(d))
    assert vs_sdn["diff"]["high"] == pytest.approx(np.mean(d) + _half_width(d))
    assert vs_sdn["verdict"] == "no significant difference between WISE, PKD ICs and confidence exit (SDN), PKD ICs"
    text = render_summary(compare_runs(load_runs(run_dirs)))
    assert "| WISE, PKD ICs | 51.5 [" in text and "| n/a |" in text
