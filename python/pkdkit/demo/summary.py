"""Demo runs compared over seeds: paired differences with 95 % t-intervals, and what they say.

Each demo folder holds ``results.json`` (:mod:`.pipeline`). Runs with different seeds are
independent replicates; within a run, CE and PKD share the data and the backbones, and WISE and
CoViAR's fusion share the logits, so every comparison is *paired* by seed
(:func:`pkdkit.stats.paired_difference`):

- per exit, PKD minus CE;
- the single networks' final exits against each other (CoViAR's order I-frame > residual > MV),
  against chance and against their fusion;
- WISE over all 12 exits (threshold 1.0) against CoViAR's 2:1:1 fusion, at the same cost;
- the flatness of the three backbones per metric (CoViAR/PKD's claim: I flatter than residual
  flatter than MV; smaller is flatter);
- the trade-off metrics of each curve when the runs have them (``results["tradeoff_metrics"]``).

Every verdict is stated whichever way it goes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..stats import mean_ci, paired_difference
from ._names import IC_METHODS, MODALITIES, MODALITY_NAMES

__all__ = ["load_runs", "compare_runs", "render_summary", "write_summary"]

SHORT = {"iframe": "I", "mv": "MV", "residual": "R"}
WISE_CURVES = {"pkd": "WISE, PKD ICs", "ce": "WISE, CE ICs"}
COVIAR = "CoViAR 2:1:1"
CONFIDENCE = "confidence exit (SDN)"  # pkdkit.evaluate.CONFIDENCE_LABEL, without importing torch
#: Flatness metrics of the report, each "smaller is flatter".
FLATNESS_METRICS = {
    "top_eigenvalue": "top Hessian eigenvalue",
    "trace": "Hessian trace",
    "landscape_rise": "1-D landscape rise (max loss at alpha = +-1 minus loss at 0)",
}
# The settings that must agree for runs to be replicates of one experiment.
_SAME = ("preset", "classes", "videos_per_class", "frames", "size", "num_segments", "input_size",
         "backbone_epochs", "ic_epochs")


def load_runs(dirs: Sequence[str | Path]) -> list[dict[str, Any]]:
    """The ``results.json`` of each demo folder, checked to be replicates of one experiment.

    Raises:
        FileNotFoundError: a folder without ``results.json``.
        ValueError: no folders, or runs whose settings (other than the seed) differ, or two runs
            with the same seed.
    """
    if not dirs:
        raise ValueError("compare: give at least one demo output folder")
    runs = []
    for d in dirs:
        path = Path(d) / "results.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: missing; is {d} a `pkdkit demo` output folder?")
        results = json.loads(path.read_text())
        results["_dir"] = str(d)
        runs.append(results)
    first = runs[0]["settings"]
    for run in runs[1:]:
        differ = [k for k in _SAME if run["settings"].get(k) != first.get(k)]
        if differ:
            raise ValueError(
                f"{run['_dir']}: settings differ from {runs[0]['_dir']} in {', '.join(differ)}; "
                "compare replicates of one experiment (same settings, different seeds)"
            )
    seeds = [r["settings"]["seed"] for r in runs]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"compare: seeds repeat ({seeds}); each run must be an independent replicate")
    return runs


def _wise_full(run: Mapping[str, Any], method: str) -> dict:
    """The point of a WISE curve that runs every exit (threshold 1.0)."""
    rows = run["tradeoff"]["curves"][WISE_CURVES[method]]
    return max(rows, key=lambda r: r["threshold"])


def _flatness(run: Mapping[str, Any], modality: str, metric: str) -> float:
    f = run["flatness"][modality]
    if metric == "landscape_rise":
        return float(f["loss_at_edges"]) - float(f["loss_at_minimum"])
    return float(f[metric])


def _pair(a: Sequence[float], b: Sequence[float], better: str, name_a: str, name_b: str) -> dict:
    diff = paired_difference(a, b)
    return {**diff.as_dict(), "a": name_a, "b": name_b, "better": better,
            "verdict": diff.verdict(better, a=name_a, b=name_b)}


def compare_runs(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Every paired comparison of the module docstring, as plain data (see :func:`render_summary`).

    Args:
        runs: ``results`` dicts of replicate demo runs (:func:`load_runs`), one per seed.
    """
    seeds = [r["settings"]["seed"] for r in runs]
    chance = float(runs[0]["chance"])
    acc = {m: {k: [r["accuracy"][m][k] for r in runs] for k in IC_METHODS} for m in MODALITIES}
    final = {m: [a[3] for a in acc[m]["ce"]] for m in MODALITIES}
    coviar = [float(r["tradeoff"]["baselines"][COVIAR]["accuracy"]) for r in runs]

    per_exit = {
        m: [_pair([a[e] for a in acc[m]["ce"]], [a[e] for a in acc[m]["pkd"]], "higher", "CE", "PKD")
            for e in range(4)]
        for m in MODALITIES
    }
    singles = {m: mean_ci(final[m]).as_dict() for m in MODALITIES}
    ordering = {
        "I vs R": _pair(final["residual"], final["iframe"], "higher", "R4", "I4"),
        "R vs MV": _pair(final["mv"], final["residual"], "higher", "MV4", "R4"),
        "I vs MV": _pair(final["mv"], final["iframe"], "higher", "MV4", "I4"),
    }
    above_chance = {m: _pair([chance] * len(runs), final[m], "higher", "chance", f"{SHORT[m]}4") for m in MODALITIES}
    below_fusion = {m: _pair(final[m], coviar, "higher", f"{SHORT[m]}4", COVIAR) for m in MODALITIES}
    # How far the CE-trained early exits sit below the final one: the room PKD has to fill.
    early_gap = {
        m: [_pair([a[3] for a in acc[m]["ce"]], [a[e] for a in acc[m]["ce"]], "higher", "exit 4", f"exit {e + 1}")
            for e in range(3)]
        for m in MODALITIES
    }

    wise = {}
    for method in ("pkd", "ce"):
        points = [_wise_full(r, method) for r in runs]
        wise[method] = {
            "accuracy": mean_ci([p["accuracy"] for p in points]).as_dict(),
            "cost": mean_ci([p["cost"] for p in points]).as_dict(),
            "vs_coviar": _pair(coviar, [p["accuracy"] for p in points], "higher", COVIAR, WISE_CURVES[method]),
        }
    wise_pkd_vs_ce = _pair([_wise_full(r, "ce")["accuracy"] for r in runs],
                           [_wise_full(r, "pkd")["accuracy"] for r in runs], "higher", "WISE, CE ICs", "WISE, PKD ICs")

    flatness: dict[str, Any] = {}
    for metric in FLATNESS_METRICS:
        values = {m: [_flatness(r, m, metric) for r in runs] for m in MODALITIES}
        flatness[metric] = {
            "values": {m: mean_ci(v).as_dict() for m, v in values.items()},
            # b - a with "lower is better": "I significantly better than R" = I flatter.
            "I vs R": _pair(values["residual"], values["iframe"], "lower", "R", "I"),
            "R vs MV": _pair(values["mv"], values["residual"], "lower", "MV", "R"),
            "I vs MV": _pair(values["mv"], values["iframe"], "lower", "MV", "I"),
        }

    return {
        "runs": [r.get("_dir", "") for r in runs],
        "seeds": seeds,
        "n": len(runs),
        "settings": {k: runs[0]["settings"].get(k) for k in _SAME},
        "chance": chance,
        "accuracy": {m: {k: [mean_ci([a[e] for a in acc[m][k]]).as_dict() for e in range(4)] for k in IC_METHODS}
                     for m in MODALITIES},
        "per_exit": per_exit,
        "singles": singles,
        "coviar": mean_ci(coviar).as_dict(),
        "ordering": ordering,
        "above_chance": above_chance,
        "below_fusion": below_fusion,
        "early_gap": early_gap,
        "wise": wise,
        "wise_pkd_vs_ce": wise_pkd_vs_ce,
        "flatness": flatness,
        "tradeoff_metrics": _tradeoff_metrics(runs),
        "per_seed": [
            {"seed": r["settings"]["seed"], **{f"{SHORT[m]}4": r["accuracy"][m]["ce"][3] for m in MODALITIES},
             "coviar": float(r["tradeoff"]["baselines"][COVIAR]["accuracy"]),
             "wise_pkd": _wise_full(r, "pkd")["accuracy"], "wise_ce": _wise_full(r, "ce")["accuracy"],
             "wall_seconds": r.get("wall_seconds")}
            for r in runs
        ],
    }


def _tradeoff_metrics(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Mean and interval of each trade-off metric of each curve, and PKD vs CE per metric.

    Reads ``results["tradeoff_metrics"]``: ``{curve label: {metric name: number or None}}``
    (higher is better for every metric: areas and accuracies; None where a budget is out of the
    curve's reach). Only metrics present in every run are kept; a metric out of reach in some run
    has no interval and no comparison.
    """
    tables = [r.get("tradeoff_metrics") or {} for r in runs]
    if not all(tables):
        return {}

    def values(label: str, k: str) -> list[float]:
        return [math.nan if t[label][k] is None else float(t[label][k]) for t in tables]

    labels = [lab for lab in tables[0] if all(lab in t for t in tables)]
    out: dict[str, Any] = {"curves": {}, "comparisons": {}}
    for label in labels:
        names = [k for k in tables[0][label] if all(k in t[label] for t in tables)]
        out["curves"][label] = {k: mean_ci(values(label, k)).as_dict() for k in names}
    # PKD's ICs against CE's under WISE, and WISE against the confidence exit on the same ICs.
    pairs = [(WISE_CURVES["ce"], WISE_CURVES["pkd"])]
    pairs += [(f"{CONFIDENCE}, {m.upper()} ICs", WISE_CURVES[m]) for m in ("pkd", "ce")]
    for a, b in pairs:
        if a in out["curves"] and b in out["curves"]:
            out["comparisons"][f"{b} vs {a}"] = {
                k: _pair(values(a, k), values(b, k), "higher", a, b)
                for k in out["curves"][b] if k in out["curves"][a]
                and not any(math.isnan(v) for v in values(a, k) + values(b, k))
            }
    return out


# ---------------------------------------------------------------------------------------- report


def _pct(x: float) -> str:
    return "n/a" if x is None or math.isnan(x) else f"{100 * x:.1f}"


def _ci(ci: Mapping[str, Any], scale: float = 100.0, digits: int = 1, signed: bool = False) -> str:
    """``mean [low, high]`` (just the mean with one run)."""
    fmt = f"{{:{'+' if signed else ''}.{digits}f}}"
    mean = fmt.format(scale * ci["mean"])
    if ci["n"] < 2 or math.isnan(ci["low"]):
        return mean
    return f"{mean} [{fmt.format(scale * ci['low'])}, {fmt.format(scale * ci['high'])}]"


def _g(ci: Mapping[str, Any], signed: bool = False) -> str:
    """Like :func:`_ci` for quantities of any scale (3 significant digits)."""
    fmt = "{:+.3g}" if signed else "{:.3g}"
    if ci["n"] < 2 or math.isnan(ci["low"]):
        return fmt.format(ci["mean"])
    return f"{fmt.format(ci['mean'])} [{fmt.format(ci['low'])}, {fmt.format(ci['high'])}]"


def _p(pair: Mapping[str, Any]) -> str:
    p = pair["p_value"]
    return "n/a" if p is None or math.isnan(p) else (f"{p:.3f}" if p >= 0.001 else "<0.001")


def _count(pairs: Sequence[Mapping[str, Any]]) -> tuple[int, int, int]:
    """(significant gains, significant losses, neither) of b over a."""
    gains = sum(1 for p in pairs if p["significant"] and p["diff"]["low"] > 0)
    losses = sum(1 for p in pairs if p["significant"] and p["diff"]["high"] < 0)
    return gains, losses, len(pairs) - gains - losses


def render_summary(summary: Mapping[str, Any]) -> str:
    """The summary of :func:`compare_runs` as markdown, with a sentence per finding."""
    n = summary["n"]
    s = summary["settings"]
    one = n < 2
    lines = [
        "# pkdkit demo: results over seeds",
        "",
        f"{n} run(s), seeds {', '.join(map(str, summary['seeds']))}; synthetic preset `{s['preset']}`, "
        f"{s['classes']} classes (chance {_pct(summary['chance'])} %), {s['backbone_epochs']} backbone epochs, "
        f"{s['ic_epochs']} IC epochs.",
        "",
        "Numbers are test accuracies in % (or the metric's own unit): the mean over seeds and, in "
        "brackets, its 95 % Student-t interval (n - 1 degrees of freedom). A difference is paired by "
        "seed (same data, same backbones) and called significant when its interval excludes 0."
        + (" **With one run there are no intervals: run `pkdkit demo --seeds N` (N >= 3).**" if one else "")
        + (" With two runs an interval has one degree of freedom (t = 12.7): only large, consistent "
           "differences show; use N >= 3." if n == 2 else ""),
        "",
        "## Single networks (final exits) and their fusion",
        "",
        "| network | accuracy | minus chance | fusion (CoViAR 2:1:1) minus it |",
        "|---|---|---|---|",
    ]
    for m in MODALITIES:
        above, below = summary["above_chance"][m]["diff"], summary["below_fusion"][m]["diff"]
        lines.append(f"| {MODALITY_NAMES[m]} | {_ci(summary['singles'][m])} | {_ci(above, signed=True)} "
                     f"| {_ci(below, signed=True)} |")
    lines.append(f"| CoViAR 2:1:1 fusion | {_ci(summary['coviar'])} | | |")
    lines += ["", "CoViAR's order is I-frame > residual > motion vectors:", ""]
    for key, pair in summary["ordering"].items():
        lines.append(f"- {key}: {pair['b']} - {pair['a']} = {_ci(pair['diff'], signed=True)} points (p {_p(pair)}): "
                     f"{pair['verdict']}.")
    order_holds = all(p["significant"] and p["diff"]["low"] > 0 for p in summary["ordering"].values())
    lines += [
        "",
        ("**The order I > R > MV holds, every step significant.**" if order_holds else
         "**The order I > R > MV is not established at 95 % by these runs** (see the steps above)."),
        "",
        "## Internal classifiers: PKD against CE",
        "",
        "Exit 4 is the frozen backbone's own classifier, the same for both; exits 1-3 are trained "
        "either by CE on the labels or by PKD (teachers: MV net, residual net, the network itself).",
        "",
        "| network | exit | CE | PKD | PKD - CE | p | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    ic_pairs = []
    for m in MODALITIES:
        for e in range(3):
            pair = summary["per_exit"][m][e]
            ic_pairs.append((m, e, pair))
            lines.append(
                f"| {MODALITY_NAMES[m]} | {e + 1} | {_ci(summary['accuracy'][m]['ce'][e])} | "
                f"{_ci(summary['accuracy'][m]['pkd'][e])} | {_ci(pair['diff'], signed=True)} | {_p(pair)} | "
                f"{pair['verdict']} |"
            )
        lines.append(f"| {MODALITY_NAMES[m]} | 4 | {_ci(summary['accuracy'][m]['ce'][3])} | (same) | | | |")
    gains, losses, neither = _count([p for _, _, p in ic_pairs])
    where = ", ".join(f"{SHORT[m]}{e + 1}" for m, e, p in ic_pairs if p["significant"] and p["diff"]["low"] > 0)
    worse = ", ".join(f"{SHORT[m]}{e + 1}" for m, e, p in ic_pairs if p["significant"] and p["diff"]["high"] < 0)
    lines += [
        "",
        f"**PKD's gain over CE is significant at {gains} of 9 internal exits**"
        + (f" ({where})" if where else "")
        + f", a significant loss at {losses}" + (f" ({worse})" if worse else "")
        + f", and not significant either way at {neither}."
        + (" (One run: no test possible.)" if one else ""),
        "",
        "Early exits against the final exit (CE-trained ICs): exit k minus exit 4, in points:",
        "",
    ]
    for m in MODALITIES:
        gaps = summary["early_gap"][m]
        lines.append(f"- {MODALITY_NAMES[m]}: " + "; ".join(
            f"exit {e + 1} {_ci(g['diff'], signed=True)}" for e, g in enumerate(gaps)) + ".")
    lines += [
        "",
        "## WISE against CoViAR's 2:1:1 fusion at the same cost",
        "",
        "WISE over all 12 exits (threshold 1.0) computes every exit, as the fusion does, so both "
        "cost the same per video.",
        "",
        "| method | accuracy | MMACs / video | minus CoViAR 2:1:1 | p | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for method in ("pkd", "ce"):
        w = summary["wise"][method]
        pair = w["vs_coviar"]
        mmacs = {**w["cost"], **{k: w["cost"][k] / 1e6 for k in ("mean", "low", "high")}}
        lines.append(
            f"| {WISE_CURVES[method]} | {_ci(w['accuracy'])} | {_g(mmacs)} "
            f"| {_ci(pair['diff'], signed=True)} | {_p(pair)} | {pair['verdict']} |"
        )
    lines.append(f"| CoViAR 2:1:1 | {_ci(summary['coviar'])} | (same) | | | |")
    pair = summary["wise_pkd_vs_ce"]
    lines += ["", f"WISE on PKD ICs minus WISE on CE ICs: {_ci(pair['diff'], signed=True)} points (p {_p(pair)}): "
              f"{pair['verdict']}.", ""]
    lines += _render_tradeoff_metrics(summary["tradeoff_metrics"])
    lines += [
        "## Flatness of the three backbones",
        "",
        "Smaller is flatter. The paper's claim is I-frame flatter than residual flatter than MV.",
        "",
        "| metric | I-frame | residual | MV | I vs R | R vs MV |",
        "|---|---|---|---|---|---|",
    ]
    for metric, name in FLATNESS_METRICS.items():
        f = summary["flatness"][metric]
        lines.append(
            f"| {name} | {_g(f['values']['iframe'])} | {_g(f['values']['residual'])} | {_g(f['values']['mv'])} | "
            f"{f['I vs R']['verdict'].replace('better', 'flatter').replace('worse', 'sharper')} | "
            f"{f['R vs MV']['verdict'].replace('better', 'flatter').replace('worse', 'sharper')} |"
        )
    holds = [name for metric, name in FLATNESS_METRICS.items()
             if all(summary["flatness"][metric][k]["significant"] and summary["flatness"][metric][k]["diff"]["high"] < 0
                    for k in ("I vs R", "R vs MV"))]
    lines += [
        "",
        (f"**The paper's flatness order holds significantly for: {', '.join(holds)}.**" if holds else
         "**The paper's flatness order (I < R < MV) is not established at 95 % by any metric here.**"),
        "",
        "## Per seed",
        "",
        "| seed | I4 | R4 | MV4 | CoViAR 2:1:1 | WISE, PKD ICs | WISE, CE ICs | wall s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in summary["per_seed"]:
        wall = row.get("wall_seconds")
        lines.append(
            f"| {row['seed']} | {_pct(row['I4'])} | {_pct(row['R4'])} | {_pct(row['MV4'])} | {_pct(row['coviar'])} | "
            f"{_pct(row['wise_pkd'])} | {_pct(row['wise_ce'])} | {'n/a' if wall is None else f'{wall:.0f}'} |"
        )
    lines.append("")
    return "\n".join(lines)


def _render_tradeoff_metrics(table: Mapping[str, Any]) -> list[str]:
    if not table:
        return [
            "## Trade-off metrics",
            "",
            "These runs carry no trade-off metrics (area under accuracy-vs-cost, accuracy at fixed "
            "cost, confidence-threshold baseline): the pipeline did not compute them.",
            "",
        ]
    curves = table["curves"]
    metrics = list(dict.fromkeys(k for v in curves.values() for k in v))
    names = {"auc": "area under acc-vs-cost"} | {k: f"acc at {k.rsplit('_', 1)[-1]} % cost" for k in metrics
                                                 if k.startswith("acc_at_")}
    lines = [
        "## Trade-off metrics",
        "",
        "Cost normalised by the full cascade (every exit computed); every test video is charged once, "
        "wrong early exits included; Pareto points joined linearly (`pkdkit.tradeoff`). In %; "
        "n/a where a budget is below the curve's cheapest point in some run.",
        "",
        "| curve | " + " | ".join(names.get(k, k) for k in metrics) + " |",
        "|---|" + "---|" * len(metrics),
    ]
    for label, values in curves.items():
        cells = ["n/a" if k not in values or math.isnan(values[k]["mean"]) else _ci(values[k]) for k in metrics]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    for title, per_metric in table.get("comparisons", {}).items():
        if per_metric:
            lines += ["", f"{title}, paired by seed:", ""]
            for k, pair in per_metric.items():
                lines.append(f"- {names.get(k, k)}: {_ci(pair['diff'], signed=True)} points (p {_p(pair)}): "
                             f"{pair['verdict']}.")
    lines.append("")
    return lines


def write_summary(dirs: Sequence[str | Path], out: str | Path | None = None) -> tuple[dict[str, Any], str]:
    """Compare the demo folders ``dirs``; with ``out``, write ``out/summary.{json,md}``.

    Returns:
        The summary (plain data) and its markdown.
    """
    summary = compare_runs(load_runs(dirs))
    text = render_summary(summary)
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
        (out / "summary.md").write_text(text)
    return summary, text
