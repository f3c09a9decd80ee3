"""Trade-off metrics of an early-exit cascade, a confidence-threshold baseline, and cost accounting.

Every function here works on the same inputs as :mod:`pkdkit.wise`: ``(K, N, C)`` exit logits in
cascade order, ``(N,)`` labels and ``(K,)`` *incremental* exit costs (computing exit k after exits
1..k-1 costs ``costs[k]`` more). A *curve* is a list of operating points, each a dict with at least
``accuracy`` (fraction) and ``cost`` (mean cost per test video), e.g. the rows of
:meth:`pkdkit.wise.WiseModel.tradeoff` or :func:`sweep_confidence_exit`.

**Cost.** A video that leaves at stage k costs the sum of the increments of stages 1..k. The cost of
an operating point is the mean of that over *every* test video, right or wrong, each counted once
(:func:`cascade_cost` with ``rule="every_video"``). The authors' scripts count differently; the
other rules reproduce them so their numbers can be set beside ours (see :data:`COST_RULES`).

**Normalisation.** Costs are divided by ``full_cost``, the cost of computing every exit of the
cascade for one video (the sum of the increments), so ``x = cost / full_cost`` lies in [0, 1] for
every cascade point; accuracy stays a fraction in [0, 1].

**Interpolation.** A curve becomes a function ``a(x)``:

1. the points are sorted by cost and reduced to their Pareto frontier (a point is kept only if its
   accuracy is strictly higher than that of every cheaper point);
2. between two consecutive frontier points ``a`` is linear: sending a fraction of the videos
   through one operating point and the rest through the other attains exactly that mix of mean
   cost and accuracy, so every point of the segment is achievable;
3. below the cheapest point nothing is achievable: :func:`accuracy_at` returns NaN there and the
   area counts it as 0;
4. above the most expensive point ``a`` stays flat (a larger budget can be left unused).

**Area** (:func:`area_under_curve`) is ``integral_0^1 a(x) dx``: between 0 and 1, and equal to the
cascade's best accuracy only if that accuracy costs nothing. A method that needs the full cascade
cost for its only point scores 0. **Accuracy at a budget** (:func:`accuracy_at`) is ``a(f)`` at
``f`` = 25/50/75 % of ``full_cost`` (:data:`BUDGETS`).

Public API (stable; the demo report uses it): :func:`confidence_exit`,
:func:`sweep_confidence_exit`, :func:`area_under_curve`, :func:`accuracy_at`, :func:`summarise`,
:func:`metrics_markdown`, :func:`cascade_cost`, :func:`cost_rules_table`, :data:`BUDGETS`,
:data:`COST_RULES`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = [
    "BUDGETS",
    "COST_RULES",
    "DOUBLE_COUNTED_EXITS",
    "frontier",
    "area_under_curve",
    "accuracy_at",
    "summarise",
    "metrics_markdown",
    "confidence_exit",
    "sweep_confidence_exit",
    "cascade_cost",
    "cost_rules_table",
    "cost_rules_markdown",
]

#: Budgets (fractions of the full cascade's cost) at which :func:`summarise` reads the curve.
BUDGETS: tuple[float, ...] = (0.25, 0.5, 0.75)

#: How a cascade's cost is counted:
#:
#: - ``"every_video"`` (pkdkit): every test video is charged once, the cost of the stages it ran.
#: - ``"authors_scripts"``: the authors' WISE scripts (``wise_ucf101_kinetics_pretrained.py``,
#:   ``hmdb_wise.py``) increment the exit counter a second time when a video leaves correctly at
#:   MV2, MV3 or MV4, so those videos are charged twice.
#: - ``"free_wrong_exits"``: the authors' TEAM-Net notebook (``trade_off_all.ipynb``) charges an
#:   early exit only when its prediction is right; wrong early exits cost nothing, and every video
#:   reaching the last stage is charged in full.
COST_RULES: tuple[str, ...] = ("every_video", "authors_scripts", "free_wrong_exits")

#: The exits whose correct exits the authors' WISE scripts count twice.
DOUBLE_COUNTED_EXITS: tuple[str, ...] = ("MV2", "MV3", "MV4")


def _points(curve: Sequence[Mapping[str, float]], full_cost: float) -> tuple[np.ndarray, np.ndarray]:
    if not full_cost > 0:
        raise ValueError(f"full_cost must be > 0, got {full_cost}")
    if not curve:
        raise ValueError("a trade-off curve needs at least one point")
    x = np.array([float(p["cost"]) for p in curve]) / float(full_cost)
    a = np.array([float(p["accuracy"]) for p in curve])
    if np.any(~np.isfinite(x)) or np.any(~np.isfinite(a)) or np.any(x < 0):
        raise ValueError("curve points need finite, non-negative costs and finite accuracies")
    return x, a


def frontier(curve: Sequence[Mapping[str, float]], full_cost: float) -> tuple[np.ndarray, np.ndarray]:
    """The Pareto frontier of a curve as ``(x, accuracy)`` arrays, x = cost / full_cost, ascending.

    A point survives only if it is more accurate than every cheaper point (ties in cost keep the
    most accurate one).
    """
    x, a = _points(curve, full_cost)
    order = np.lexsort((-a, x))  # by cost, the most accurate first among equal costs
    keep_x, keep_a = [], []
    for i in order:
        if not keep_a or a[i] > keep_a[-1]:  # a later point at the same cost is never more accurate
            keep_x.append(x[i])
            keep_a.append(a[i])
    return np.array(keep_x), np.array(keep_a)


def accuracy_at(curve: Sequence[Mapping[str, float]], full_cost: float, budget: float) -> float:
    """Accuracy of the interpolated curve at ``budget`` x ``full_cost`` (module docstring).

    Returns:
        The accuracy (fraction), or NaN when even the cheapest point costs more than the budget.
    """
    fx, fa = frontier(curve, full_cost)
    if budget < fx[0]:
        return math.nan
    return float(np.interp(budget, fx, fa))  # flat beyond the last point


def area_under_curve(curve: Sequence[Mapping[str, float]], full_cost: float) -> float:
    """``integral_0^1 a(x) dx`` of the interpolated curve, x = cost / full_cost (module docstring)."""
    fx, fa = frontier(curve, full_cost)
    inside = fx <= 1.0
    xs, ys = list(fx[inside]), list(fa[inside])
    if not xs:  # every point costs more than the full cascade: nothing is reachable within it
        return 0.0
    if xs[-1] < 1.0:  # flat to x = 1; a point beyond 1 bends the last segment toward it
        beyond = ~inside
        ys.append(float(np.interp(1.0, fx, fa)) if beyond.any() else ys[-1])
        xs.append(1.0)
    xs_arr, ys_arr = np.array(xs), np.array(ys)
    return float(np.sum(np.diff(xs_arr) * (ys_arr[1:] + ys_arr[:-1]) / 2))


def summarise(
    curve: Sequence[Mapping[str, float]], full_cost: float, budgets: Sequence[float] = BUDGETS
) -> dict[str, float]:
    """``{"auc": ..., "acc_at_25": ..., ...}`` of one curve (NaN where a budget is unreachable)."""
    out = {"auc": area_under_curve(curve, full_cost)}
    for b in budgets:
        out[f"acc_at_{round(100 * b)}"] = accuracy_at(curve, full_cost, b)
    return out


def metrics_markdown(metrics: Mapping[str, Mapping[str, float]], budgets: Sequence[float] = BUDGETS) -> str:
    """A markdown table of :func:`summarise` results keyed by method label (accuracies in %)."""
    head = "| method | area under acc-vs-cost (%) | " + " | ".join(
        f"acc at {round(100 * b)} % cost (%)" for b in budgets
    ) + " |"
    lines = [head, "|---" * (2 + len(budgets)) + "|"]

    def pct(v: float | None) -> str:
        return "unreachable" if v is None or math.isnan(v) else f"{100 * v:.2f}"

    for label, m in metrics.items():
        cells = [pct(m["auc"])] + [pct(m[f"acc_at_{round(100 * b)}"]) for b in budgets]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _softmax_confidence(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Max softmax probability and argmax of (K, N, C) logits, computed stably in float64."""
    z = logits.astype(np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=-1, keepdims=True)
    return p.max(axis=-1), p.argmax(axis=-1)


def _check(logits, labels, costs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    z = np.asarray(logits, np.float32)
    y = np.asarray(labels, np.int64)
    c = np.asarray(costs, np.float64)
    if z.ndim != 3:
        raise ValueError(f"logits must be (exits, samples, classes), got shape {z.shape}")
    if y.shape != (z.shape[1],):
        raise ValueError(f"labels must be ({z.shape[1]},), got shape {y.shape}")
    if c.shape != (z.shape[0],):
        raise ValueError(f"costs must be ({z.shape[0]},), got shape {c.shape}")
    return z, y, c


def confidence_exit(logits, labels, costs, threshold: float) -> dict:
    """The plain confidence-threshold early exit (SDN, Kaya et al. 2019) on the same logits.

    Each exit is read on its own (no ensemble): a video leaves at the first exit whose max softmax
    probability exceeds ``threshold``; a video that no exit is sure of takes the prediction of its
    most confident exit (SDN's rule) and has paid for every exit.

    Args:
        logits: (K, N, C) exit logits in cascade order.
        labels: (N,) classes.
        costs: (K,) incremental exit costs.
        threshold: exit when the max probability is strictly greater (1.0: never exit early).

    Returns:
        dict with ``threshold``, ``accuracy``, ``cost`` (mean over every video, each once),
        ``exit_histogram``, ``exit_stage`` (N,) and ``predictions`` (N,).
    """
    z, y, c = _check(logits, labels, costs)
    conf, pred = _softmax_confidence(z)  # (K, N)
    sure = conf > threshold
    k, n = conf.shape
    exited = sure.any(axis=0)
    stage = np.where(exited, sure.argmax(axis=0), k - 1)
    chosen = np.where(exited, stage, conf.argmax(axis=0))  # whose prediction is used
    predictions = pred[chosen, np.arange(n)]
    return {
        "threshold": float(threshold),
        "accuracy": float((predictions == y).mean()),
        "cost": float(np.cumsum(c)[stage].mean()),
        "exit_histogram": np.bincount(stage, minlength=k).tolist(),
        "exit_stage": stage,
        "predictions": predictions,
    }


def sweep_confidence_exit(logits, labels, costs, thresholds: Sequence[float]) -> list[dict]:
    """:func:`confidence_exit` at every threshold, without the per-sample arrays."""
    rows = []
    for t in thresholds:
        r = confidence_exit(logits, labels, costs, t)
        rows.append({k: v for k, v in r.items() if k not in ("exit_stage", "predictions")})
    return rows


def cascade_cost(
    exit_stage: np.ndarray,
    correct: np.ndarray,
    costs: Sequence[float],
    rule: str = "every_video",
    names: Sequence[str] | None = None,
) -> float:
    """Mean cost per test video of a cascade run, counted by ``rule`` (see :data:`COST_RULES`).

    Args:
        exit_stage: (N,) 0-based stage each video left at.
        correct: (N,) whether its prediction was right.
        costs: (K,) incremental exit costs.
        rule: one of :data:`COST_RULES`.
        names: exit names in cascade order (``authors_scripts`` needs them to find MV2-MV4).

    Returns:
        Total charged cost divided by the number of videos.
    """
    stage = np.asarray(exit_stage, np.int64)
    right = np.asarray(correct, bool)
    cumulative = np.cumsum(np.asarray(costs, np.float64))
    spent = cumulative[stage]
    if rule == "every_video":
        charged = spent
    elif rule == "authors_scripts":
        if names is None:
            raise ValueError("the authors_scripts rule needs the exit names")
        doubled = np.isin(np.asarray(list(names))[stage], DOUBLE_COUNTED_EXITS) & right
        charged = spent * (1 + doubled)
    elif rule == "free_wrong_exits":
        charged = spent * (right | (stage == len(cumulative) - 1))
    else:
        raise ValueError(f"unknown cost rule {rule!r}; expected one of {', '.join(COST_RULES)}")
    return float(charged.mean()) if len(charged) else 0.0


def cost_rules_table(model, logits, labels, thresholds: Sequence[float]) -> list[dict]:
    """The cost of a WISE model's operating points under every rule of :data:`COST_RULES`.

    Args:
        model: a :class:`pkdkit.wise.WiseModel`.
        logits, labels: test logits (K, N, C) in the model's cascade order and (N,) labels.
        thresholds: exit thresholds.

    Returns:
        One row per threshold: ``threshold``, ``accuracy`` and one cost per rule.
    """
    y = np.asarray(labels)
    rows = []
    for t in thresholds:
        r = model.evaluate(logits, labels, t)
        right = r["predictions"] == y
        row = {"threshold": float(t), "accuracy": r["accuracy"]}
        for rule in COST_RULES:
            row[rule] = cascade_cost(r["exit_stage"], right, model.costs, rule, model.names)
        rows.append(row)
    return rows


def cost_rules_markdown(rows: Sequence[Mapping[str, float]], cost_unit: float = 1e9, unit_name: str = "GMACs") -> str:
    """A markdown table of :func:`cost_rules_table` rows, with each rule's difference from ours."""
    lines = [
        f"| threshold | accuracy (%) | pkdkit: every video once ({unit_name}) | authors' WISE scripts "
        f"({unit_name}, vs ours) | TEAM-Net notebook ({unit_name}, vs ours) |",
        "|---|---|---|---|---|",
    ]

    def rel(v: float, ref: float) -> str:
        return f"{v / cost_unit:.4g} ({100 * (v - ref) / ref:+.1f} %)" if ref > 0 else f"{v / cost_unit:.4g}"

    for r in rows:
        ours = r["every_video"]
        lines.append(
            f"| {r['threshold']:g} | {100 * r['accuracy']:.2f} | {ours / cost_unit:.4g} | "
            f"{rel(r['authors_scripts'], ours)} | {rel(r['free_wrong_exits'], ours)} |"
        )
    return "\n".join(lines) + "\n"
