"""`pkdkit demo --quick` end to end: the report's sections and numbers, checked against the files it
was computed from (logits, WISE models), plus the CLI."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

pytestmark = pytest.mark.slow

ROW = re.compile(r"^\|(.+)\|$")


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    """Two quick demos (seeds 0 and 1) and their summary, as `pkdkit demo --quick --seeds 2` makes them."""
    from pkdkit.demo import run_demo_seeds

    out = tmp_path_factory.mktemp("demo")
    return run_demo_seeds(out, [0, 1], device="cpu", quick=True, progress=False)


@pytest.fixture(scope="module")
def demo(seeds):
    return seeds[0][0]


def _section(report: str, title: str) -> str:
    """The text of one ``## title`` section."""
    parts = re.split(r"^## ", report, flags=re.M)
    for part in parts:
        if part.startswith(title):
            return part
    raise AssertionError(f"no section {title!r} in the report; sections: {[p.splitlines()[0] for p in parts[1:]]}")


def _table(section: str) -> list[list[str]]:
    """Body rows of the first markdown table in ``section`` (header and rule dropped)."""
    rows: list[str] = []
    for line in section.splitlines():
        m = ROW.match(line.strip())
        if m:
            rows.append(m.group(1))
        elif rows:  # the first table has ended
            break
    return [[cell.strip() for cell in row.split("|")] for row in rows[2:]]


def test_report_has_every_section(demo):
    text = demo.report.read_text()
    for title in ("Per-exit accuracy, CE vs PKD", "Flatness of the three backbones",
                  "WISE accuracy / compute trade-off", "Learning curves", "Run time"):
        _section(text, title)
    classes = demo.results["settings"]["classes"]
    assert f"Chance level: {100 / classes:.1f} %" in text


def test_accuracy_table_matches_the_logits_files(demo):
    from pkdkit.evaluate import load_logits, per_exit_accuracy
    from pkdkit.wise import CASCADE

    rows = _table(_section(demo.report.read_text(), "Per-exit accuracy"))
    assert len(rows) == 6  # 3 modalities x (CE, PKD)
    names = {"I-frame": "I", "motion vectors": "MV", "residual": "R"}
    for method in ("ce", "pkd"):
        data = load_logits(demo.out / "logits" / f"{method}_test.npz")
        assert data.names == list(CASCADE) and data.logits.shape[0] == 12
        expected = per_exit_accuracy(data)
        # An independent count with numpy: argmax of each exit against the labels.
        for k, name in enumerate(data.names):
            assert expected[name] == pytest.approx(np.mean(data.logits[k].argmax(-1) == data.labels))
        for modality, by, *cells in rows:
            if by != method.upper():
                continue
            values = [float(c) for c in cells]
            assert len(values) == 4 and all(0.0 <= v <= 100.0 for v in values)
            for k, v in enumerate(values, start=1):
                assert v == pytest.approx(100 * expected[f"{names[modality]}{k}"], abs=0.05)
    # Exit 4 is the frozen backbone's own classifier: identical whichever way the ICs were trained.
    by_modality: dict[str, dict[str, str]] = {}
    for modality, by, *cells in rows:
        by_modality.setdefault(modality, {})[by] = cells[3]
    assert all(v["CE"] == v["PKD"] for v in by_modality.values())


def test_flatness_table_is_finite_and_matches_json(demo):
    rows = _table(_section(demo.report.read_text(), "Flatness"))
    assert [r[0] for r in rows] == ["I-frame", "motion vectors", "residual"]
    report = json.loads((demo.out / "flatness" / "flatness.json").read_text())
    for (_, eig, trace, at_min, at_edge), modality in zip(rows, ("iframe", "mv", "residual")):
        run = report["runs"][modality]
        assert float(eig.split()[0]) == pytest.approx(run["eigenvalues"]["values"][0], rel=1e-3)
        assert float(trace.split()[0]) == pytest.approx(run["trace"]["mean"], rel=1e-3)
        assert all(math.isfinite(float(x)) for x in (at_min, at_edge))
        # The landscape is centred on the trained weights: its middle point is the unperturbed loss,
        # which is what a fresh evaluation of the loss gives.
        losses = run["landscape"]["losses"]
        assert len(losses) % 2 == 1 and float(at_min) == pytest.approx(losses[len(losses) // 2], abs=1e-3)


def test_tradeoff_costs_grow_with_the_threshold(demo):
    from pkdkit.evaluate import load_logits
    from pkdkit.wise import WiseModel

    rows = _table(_section(demo.report.read_text(), "WISE"))
    curves: dict[str, list[tuple[float, float, float]]] = {}
    for method, threshold, acc, cost, _ in rows:
        if threshold != "-":
            curves.setdefault(method, []).append((float(threshold), float(acc), float(cost)))
    sdn = {"confidence exit (SDN), PKD ICs", "confidence exit (SDN), CE ICs"}
    assert set(curves) == {"WISE, PKD ICs", "WISE, CE ICs"} | sdn
    assert any(r[0] == "CoViAR 2:1:1" for r in rows)
    for method, points in curves.items():
        thresholds, accs, costs = zip(*points)
        assert list(thresholds) == sorted(thresholds) and thresholds[-1] == 1.0
        assert all(0.0 <= a <= 100.0 for a in accs)
        assert all(a <= b + 1e-9 for a, b in zip(costs, costs[1:])), f"{method}: cost not monotone {costs}"
        # Threshold 1.0 runs every exit: the cost of all 12, from the logits file (MMACs).
        data = load_logits(demo.out / "logits" / f"{method.split()[-2].lower()}_test.npz")
        assert costs[-1] == pytest.approx(data.costs.sum() / 1e6, rel=1e-3)
        if method in sdn:
            # Never confident enough at 1.0: every video pays for all exits and takes the answer of its
            # most confident exit (SDN's rule).
            z = data.logits.astype(np.float64)
            p = np.exp(z - z.max(-1, keepdims=True))
            p /= p.sum(-1, keepdims=True)
            chosen = p.max(-1).argmax(0)
            answers = p.argmax(-1)[chosen, np.arange(len(data.labels))]
            assert accs[-1] == pytest.approx(100 * np.mean(answers == data.labels), abs=0.01)
            continue
        # And its accuracy is the saved WISE model's last stage, recomputed here.
        model = WiseModel.load(demo.out / "wise" / f"wise_{method.split()[-2].lower()}.json")
        last = model.stage_logits(data.logits)[-1].numpy()
        assert accs[-1] == pytest.approx(100 * np.mean(last.argmax(-1) == data.labels), abs=0.01)


def _png_ok(path: Path) -> None:
    import matplotlib.image

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path
    image = matplotlib.image.imread(path)
    assert image.shape[0] > 100 and image.shape[1] > 100, path
    assert float(image[..., :3].std()) > 0.01, f"{path} is blank"


def test_files_and_plots_exist(demo):
    report = demo.report.read_text()
    for png in ("curves.png", "tradeoff.png", "landscape1d.png"):
        assert f"]({png})" in report
        _png_ok(demo.out / png)
    for run in ("iframe", "mv", "residual", "iframe-ce", "mv-pkd", "residual-pkd"):
        assert (demo.out / "runs" / run / "checkpoint.pt").is_file()
        _png_ok(demo.out / "runs" / run / "curves.png")
    results = json.loads((demo.out / "results.json").read_text())
    assert results["wall_seconds"] > 0 and results["cpu_seconds"] > 0


def test_refuses_a_folder_it_did_not_write(tmp_path):
    from pkdkit.demo import run_demo

    (tmp_path / "thesis.tex").write_text("precious")
    with pytest.raises(ValueError, match="not a previous demo output"):
        run_demo(tmp_path, device="cpu", quick=True, progress=False)
    assert (tmp_path / "thesis.tex").read_text() == "precious"


def test_cli_help():
    from pkdkit.cli import main

    result = CliRunner().invoke(main, ["demo", "--help"])
    assert result.exit_code == 0
    for option in ("--out", "--device", "--quick", "--seeds", "--preset"):
        assert option in result.output
    assert "demo" in CliRunner().invoke(main, ["--help"]).output


def test_tradeoff_metrics_are_in_the_results(demo):
    from pkdkit.tradeoff import summarise

    results = json.loads((demo.out / "results.json").read_text())
    metrics = results["tradeoff_metrics"]
    assert {"WISE, PKD ICs", "WISE, CE ICs", "confidence exit (SDN), PKD ICs", "CoViAR 2:1:1"} <= set(metrics)
    full = results["tradeoff"]["full_cost"]
    curve = results["tradeoff"]["curves"]["WISE, PKD ICs"]
    assert metrics["WISE, PKD ICs"]["auc"] == pytest.approx(summarise(curve, full)["auc"])
    assert 0.0 <= metrics["WISE, PKD ICs"]["auc"] <= 1.0


def test_seeds_summary_pairs_the_runs(seeds):
    """`--seeds 2`: one demo folder per seed, and a summary whose numbers are those of the folders."""
    runs, summary_md = seeds
    assert [r.out.name for r in runs] == ["seed-0", "seed-1"]
    summary = json.loads((summary_md.parent / "summary.json").read_text())
    assert summary["seeds"] == [0, 1] and summary["n"] == 2
    for m in ("iframe", "mv", "residual"):
        for e in range(4):
            ce = [r.results["accuracy"][m]["ce"][e] for r in runs]
            pkd = [r.results["accuracy"][m]["pkd"][e] for r in runs]
            pair = summary["per_exit"][m][e]
            assert pair["diff"]["mean"] == pytest.approx(np.mean(pkd) - np.mean(ce))
            assert pair["diff"]["n"] == 2
    text = summary_md.read_text()
    for title in ("Single networks", "Internal classifiers: PKD against CE", "WISE against CoViAR",
                  "Trade-off metrics", "Flatness of the three backbones", "Per seed"):
        assert f"## {title}" in text
    assert "PKD's gain over CE is significant at" in text


def test_seeds_resume_keeps_finished_runs(seeds):
    """A second `--seeds` run into the same folder keeps the finished seeds instead of rerunning them."""
    from dataclasses import replace

    from pkdkit.demo import run_demo_seeds
    from pkdkit.demo.pipeline import QUICK, finished_run

    runs, summary_md = seeds
    out = summary_md.parent
    stamps = {r.out: (r.out / "results.json").stat().st_mtime_ns for r in runs}
    again, summary_again = run_demo_seeds(out, [0, 1], device="cpu", quick=True, progress=False)
    assert [r.out for r in again] == [r.out for r in runs]
    assert {r.out: (r.out / "results.json").stat().st_mtime_ns for r in again} == stamps  # not rerun
    assert [r.results for r in again] == [json.loads((r.out / "results.json").read_text()) for r in runs]
    assert summary_again.is_file()
    # Other settings, another seed or another device: not the same run.
    folder = runs[0].out
    assert finished_run(folder, QUICK, 0, True, "cpu") is not None
    assert finished_run(folder, replace(QUICK, ic_epochs=3), 0, True, "cpu") is None
    assert finished_run(folder, QUICK, 1, True, "cpu") is None
    assert finished_run(folder, QUICK, 0, True, "cuda") is None


def test_cli_rejects_zero_seeds_and_unknown_presets(tmp_path):
    from pkdkit.cli import main

    out = str(tmp_path / "never")
    result = CliRunner().invoke(main, ["demo", "--out", out, "--seeds", "0"])
    assert result.exit_code == 2 and "--seeds" in result.output
    result = CliRunner().invoke(main, ["demo", "--out", out, "--preset", "cartoons"])
    assert result.exit_code == 2 and "cartoons" in result.output
    assert not (tmp_path / "never").exists()
