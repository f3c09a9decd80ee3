"""WISE: Weighted Inference with Scaled Ensemble, an early-exit cascade over 12 exits.

The three multi-exit networks give 12 exits, taken in the cascade order of the authors' code:
``R1..R4, MV1..MV4, I1..I4`` (:data:`CASCADE`). At stage ``k`` (1-based) the ensemble combines the
logits of the ``k`` exits computed so far with its own learned weight vector ``w^(k)``::

    p_k = softmax( sum_{j<=k} w^(k)_j z_j / d_k )      d_k = k (WISE) or 1 ("no_division")

and a sample leaves at the first stage whose max probability exceeds the threshold ``tau``; a sample
that never exits takes the last stage's prediction. ``tau = 1.0`` therefore uses every exit, and
``tau = 0`` always stops at the first.

The weights are learned on training-set logits with the authors' objective: for each stage,
minimise ``CE(sum_j w_j z_j, y) + alpha_k * ||w||_1`` with full-batch SGD (lr 0.1, 500 iterations,
weights starting at 1, ``alpha_k = 0`` for the first five stages and 0.1 afterwards). Stages do
not share parameters, so all twelve are fitted at once as one batched problem (one masked
``(K, K)`` weight matrix) on the GPU when there is one.

Faithful by default, better by choice. The defaults of :func:`fit` are the authors' code
(``wise_ucf101_kinetics_pretrained.py``, ``hmdb_wise.py``); each pkdkit improvement is a named
option:

- **Stage 1** (``learn_first_stage``). The authors test R1's raw logits, ``softmax(z_R1)``; no
  weight is learned for it. Default ``False`` holds ``w^(1) = 1``. ``True`` learns ``w^(1)``, a
  temperature on R1 that makes its confidence honest, so fewer videos leave at R1 on
  overconfident logits; at low thresholds this can change accuracy by many points. It is
  pkdkit's improvement, not the paper's method: report it as such.
- **Last stage** (``last_stage``). A video that no stage is sure of: the authors fall back to a
  fixed 3-head ensemble ``(a*I4 + b*R4 + c*MV4) / 3`` (``/3`` dropped in ``no_division``, and
  ``(I4 + R4 + MV4) / 3`` for ``no_scaling``). Their ``a, b, c`` are hard-coded per split; pkdkit
  fits them the same way as every other stage (same objective, ``alpha = l1``). That is
  ``last_stage="authors"``, the default: row 12 of the weight matrix is zero except at I4, R4 and
  MV4, and its divisor is 3. ``last_stage="cascade"`` uses the fitted 12-exit weights instead
  (pkdkit's earlier behaviour; models saved without a ``last_stage`` field load as this).
  ``no_lateral`` always ends on I4 alone, as in the authors' code.
- **Cost.** :meth:`WiseModel.evaluate` charges every test video once, the cost of the stages it
  ran, wrong early exits included. The authors' WISE scripts charge a correct exit at MV2-MV4
  twice and their TEAM-Net notebook charges wrong early exits nothing; see
  :mod:`pkdkit.tradeoff` (:func:`~pkdkit.tradeoff.cost_rules_table`), which reports the three
  side by side on the same logits so numbers are not compared with the paper's blindly.

Variants (``variant=``): ``"wise"`` (learned, divided by k), ``"no_division"`` (learned, no /k:
the curve the authors plot as "WISE"), ``"no_scaling"`` (all weights 1, divided by k) and
``"no_lateral"`` (stage k uses only exit k). :func:`coviar_fusion` is CoViAR's 2:1:1 late fusion
of the three final exits, the usual baseline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .devices import resolve_device
from .vocabulary import CASCADE_EXITS

__all__ = [
    "CASCADE",
    "VARIANTS",
    "WiseModel",
    "fit",
    "coviar_fusion",
    "cascade_order",
    "comparison_models",
    "describe",
    "LAST_STAGES",
    "FALLBACK_EXITS",
]

#: The cascade order of the authors' WISE code: the residual net first, then MV, then I-frame.
CASCADE: tuple[str, ...] = CASCADE_EXITS

VARIANTS = ("wise", "no_division", "no_scaling", "no_lateral")

#: Last-stage fallbacks: the authors' 3-head ensemble, or pkdkit's fitted 12-exit stage.
LAST_STAGES = ("authors", "cascade")

#: The exits of the authors' last-stage ensemble.
FALLBACK_EXITS: tuple[str, ...] = ("I4", "R4", "MV4")


def cascade_order(names: Sequence[str], order: Sequence[str] = CASCADE) -> list[int]:
    """Indices that put exits named ``names`` into cascade ``order``.

    Raises:
        ValueError: if an exit of ``order`` is missing from ``names``.
    """
    missing = [n for n in order if n not in names]
    if missing:
        raise ValueError(f"logits lack exits {missing}; have {list(names)}")
    return [list(names).index(n) for n in order]


def _as_tensor(logits: np.ndarray | torch.Tensor, labels: np.ndarray | torch.Tensor, device):
    z = torch.as_tensor(np.asarray(logits) if not torch.is_tensor(logits) else logits)
    y = torch.as_tensor(np.asarray(labels) if not torch.is_tensor(labels) else labels)
    if z.ndim != 3:
        raise ValueError(f"logits must be (exits, samples, classes), got shape {tuple(z.shape)}")
    if y.ndim != 1 or y.shape[0] != z.shape[1]:
        raise ValueError(f"labels must be ({z.shape[1]},), got shape {tuple(y.shape)}")
    return z.to(device=device, dtype=torch.float32), y.to(device=device, dtype=torch.long)


def _stage_mask(
    k: int, variant: str, last_stage: str = "cascade", names: Sequence[str] | None = None
) -> torch.Tensor:
    """(K, K) 0/1 mask: which exits stage k may combine.

    With ``last_stage="authors"`` the last row holds only the :data:`FALLBACK_EXITS`.
    """
    if last_stage not in LAST_STAGES:
        raise ValueError(f"last_stage must be one of {LAST_STAGES}, got {last_stage!r}")
    if variant == "no_lateral":
        return torch.eye(k)
    mask = torch.tril(torch.ones(k, k))
    if last_stage == "authors":
        names = list(names or [])
        missing = [n for n in FALLBACK_EXITS if n not in names]
        if missing:
            raise ValueError(f"the authors' last stage needs exits {list(FALLBACK_EXITS)}; {missing} missing")
        mask[-1] = 0
        mask[-1, [names.index(n) for n in FALLBACK_EXITS]] = 1
    return mask


@dataclass
class WiseModel:
    """Per-stage ensemble weights and the cost of every exit, ready to run the cascade.

    Attributes:
        weights: (K, K) float32; row k holds the weights of stage k+1 over exits 0..k (zeros
            above the diagonal, and off the diagonal for ``no_lateral``).
        costs: (K,) incremental cost (e.g. MACs) of computing each exit after the previous ones.
        names: exit names in cascade order.
        variant: one of :data:`VARIANTS`.
        temperatures: (K,) per-stage softmax temperatures (ones unless calibrated).
        last_stage: ``"authors"`` (the last row is the 3-head fallback ensemble, divided by 3 in
            the divided variants) or ``"cascade"`` (the last row is a 12-exit stage like the others).
        first_stage: ``"raw"`` (R1's weight held at 1, the authors') or ``"learned"``.
        history: final training loss per stage.
    """

    weights: np.ndarray
    costs: np.ndarray
    names: list[str]
    variant: str = "wise"
    temperatures: np.ndarray = field(default_factory=lambda: np.ones(0, np.float32))
    last_stage: str = "cascade"
    first_stage: str = "raw"

    history: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        k = len(self.names)
        self.weights = np.asarray(self.weights, np.float32)
        self.costs = np.asarray(self.costs, np.float64)
        if self.weights.shape != (k, k) or self.costs.shape != (k,):
            raise ValueError(
                f"weights must be ({k},{k}) and costs ({k},), got {self.weights.shape}, {self.costs.shape}"
            )
        if self.variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {self.variant!r}")
        if self.last_stage not in LAST_STAGES:
            raise ValueError(f"last_stage must be one of {LAST_STAGES}, got {self.last_stage!r}")
        if self.temperatures.size == 0:
            self.temperatures = np.ones(k, np.float32)

    @property
    def num_stages(self) -> int:
        return len(self.names)

    def divisors(self) -> np.ndarray:
        """d_k of each stage: k for divided variants (3 for the authors' 3-head last stage), 1 for
        ``no_division`` and ``no_lateral``. Division changes confidence, never a stage's argmax."""
        k = np.arange(1, self.num_stages + 1, dtype=np.float32)
        if self.variant not in ("wise", "no_scaling"):
            return np.ones_like(k)
        if self.last_stage == "authors":
            k[-1] = len(FALLBACK_EXITS)
        return k

    def stage_logits(self, logits: np.ndarray | torch.Tensor) -> torch.Tensor:
        """(K, N, C) combined logits of every stage (already divided and temperature-scaled)."""
        z = torch.as_tensor(np.asarray(logits), dtype=torch.float32)
        w = torch.from_numpy(self.weights)
        scale = torch.from_numpy(self.divisors() * self.temperatures).view(-1, 1, 1)
        return torch.einsum("ke,enc->knc", w, z) / scale

    def evaluate(
        self, logits: np.ndarray | torch.Tensor, labels: np.ndarray | torch.Tensor, threshold: float
    ) -> dict:
        """Run the cascade on (K, N, C) logits at one threshold.

        Returns:
            dict with ``accuracy`` (fraction), ``cost`` (mean cost spent per sample: the sum of
            the incremental costs of the exits actually computed), ``exit_histogram`` (samples
            leaving at each stage), ``exit_stage`` (N,) 0-based stage of each sample and
            ``predictions`` (N,).
        """
        z, y = _as_tensor(logits, labels, "cpu")
        if z.shape[0] != self.num_stages:
            raise ValueError(f"logits have {z.shape[0]} exits, the model {self.num_stages}")
        probs = torch.softmax(self.stage_logits(z), dim=-1)  # (K, N, C)
        conf, pred = probs.max(dim=-1)  # (K, N)
        confident = conf > threshold
        confident[-1] = True  # nobody goes past the last stage
        stage = confident.int().argmax(dim=0)  # first confident stage per sample
        final_pred = pred.gather(0, stage.view(1, -1)).squeeze(0)
        cumulative = np.cumsum(self.costs)
        spent = cumulative[stage.numpy()]
        return {
            "threshold": float(threshold),
            "accuracy": float((final_pred == y).float().mean()),
            "cost": float(spent.mean()),
            "exit_histogram": np.bincount(stage.numpy(), minlength=self.num_stages).tolist(),
            "exit_stage": stage.numpy(),
            "predictions": final_pred.numpy(),
        }

    def tradeoff(self, logits, labels, thresholds: Sequence[float]) -> list[dict]:
        """:meth:`evaluate` at every threshold, without the per-sample arrays."""
        rows = []
        for t in thresholds:
            r = self.evaluate(logits, labels, t)
            rows.append({k: v for k, v in r.items() if k not in ("exit_stage", "predictions")})
        return rows

    def predict_stage(self, stage_logits_so_far: Sequence[np.ndarray | torch.Tensor], threshold: float):
        """Decide after computing exits ``0..k-1`` for ONE sample (anytime inference).

        Args:
            stage_logits_so_far: the k exits' logits, each (C,).
            threshold: exit when the max probability exceeds it.

        Returns:
            ``(stop, class_index, confidence)``; ``stop`` is also True at the last stage.
        """
        k = len(stage_logits_so_far)
        z = torch.stack([torch.as_tensor(np.asarray(v), dtype=torch.float32) for v in stage_logits_so_far])
        w = torch.from_numpy(self.weights[k - 1, :k])
        scale = float(self.divisors()[k - 1] * self.temperatures[k - 1])
        p = torch.softmax((w @ z) / scale, dim=-1)
        conf, cls = p.max(dim=-1)
        return bool(conf > threshold or k == self.num_stages), int(cls), float(conf)

    def describe(self) -> str:
        """One line saying how the first and last stages work (see :func:`describe`)."""
        return describe(self)

    def save(self, path: str | Path) -> None:
        """Write the model as JSON (atomically)."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(
            json.dumps(
                {
                    "names": self.names,
                    "variant": self.variant,
                    "weights": self.weights.tolist(),
                    "costs": self.costs.tolist(),
                    "temperatures": self.temperatures.tolist(),
                    "last_stage": self.last_stage,
                    "first_stage": self.first_stage,
                    "history": self.history,
                },
                indent=1,
            )
        )
        tmp.replace(path)

    @classmethod
    def load(cls, path: str | Path) -> WiseModel:
        """Read a model written by :meth:`save` (files without ``last_stage`` predate the option and
        used the fitted 12-exit last stage and a learned first stage).

        Raises:
            FileNotFoundError: no such file.
            ValueError: the file is not a WISE model (the message names it and says why).
        """
        path = Path(path)
        expected = "expected a WISE model from `pkdkit wise fit` (a JSON object with weights, costs, names, variant)"
        try:
            d = json.loads(path.read_bytes().decode("utf-8"))
        except UnicodeDecodeError:
            raise ValueError(f"{path}: a binary file, not JSON; {expected}") from None
        except json.JSONDecodeError as err:
            raise ValueError(
                f"{path}: not valid JSON (line {err.lineno} column {err.colno}: {err.msg}; truncated?); {expected}"
            ) from None
        if not isinstance(d, dict):
            raise ValueError(f"{path}: holds a JSON {type(d).__name__}; {expected}")
        missing = [k for k in ("weights", "costs", "names", "variant") if k not in d]
        if missing:
            raise ValueError(f"{path}: lacks {', '.join(missing)}; {expected}")
        try:
            return cls(
                weights=np.array(d["weights"], np.float32),
                costs=np.array(d["costs"], np.float64),
                names=list(d["names"]),
                variant=d["variant"],
                temperatures=np.array(d.get("temperatures", []), np.float32),
                last_stage=d.get("last_stage", "cascade"),
                first_stage=d.get("first_stage", "learned"),
                history=list(d.get("history", [])),
            )
        except (TypeError, ValueError) as err:
            raise ValueError(f"{path}: malformed WISE model ({err}); {expected}") from None


def _default_alphas(k: int, l1: float, free_stages: int) -> torch.Tensor:
    """The authors' L1 schedule: no penalty on the first ``free_stages`` stages, ``l1`` after."""
    return torch.tensor([0.0 if s < free_stages else l1 for s in range(k)])


def fit(
    logits: np.ndarray | torch.Tensor,
    labels: np.ndarray | torch.Tensor,
    costs: Sequence[float] | None = None,
    *,
    names: Sequence[str] = CASCADE,
    variant: str = "wise",
    iterations: int = 500,
    lr: float = 0.1,
    l1: float = 0.1,
    l1_free_stages: int = 5,
    learn_first_stage: bool = False,
    last_stage: str = "authors",
    calibrate: bool = False,
    device: str | torch.device | None = None,
) -> WiseModel:
    """Learn the per-stage ensemble weights from training-set logits.

    The defaults are the authors' (module docstring): R1 raw at stage 1, the 3-head fallback
    ensemble (I4, R4, MV4) as the last stage.

    Args:
        logits: (K, N, C) logits of the K exits in cascade order (see :func:`cascade_order`).
        labels: (N,) integer class labels.
        costs: (K,) incremental cost of each exit (MACs); zeros if not given.
        names: exit names in cascade order.
        variant: one of :data:`VARIANTS`; the ``no_scaling`` and ``no_lateral`` variants learn
            nothing (all weights 1).
        iterations, lr: full-batch SGD steps and learning rate (authors: 500, 0.1).
        l1, l1_free_stages: L1 penalty ``alpha`` and how many leading stages go unpenalised.
        learn_first_stage: learn R1's weight (a temperature) instead of holding it at 1.
        last_stage: ``"authors"`` (3-head fallback, its 3 weights fitted like any stage) or
            ``"cascade"`` (the fitted 12-exit stage); see :data:`LAST_STAGES`.
        calibrate: also fit one softmax temperature per stage (NLL on the same logits, LBFGS).
        device: where to fit; default CUDA when available, else CPU.

    Returns:
        A :class:`WiseModel`.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    device = resolve_device(device)
    z, y = _as_tensor(logits, labels, device)
    k = z.shape[0]
    if len(names) != k:
        raise ValueError(f"{len(names)} names for {k} exits")
    costs_arr = np.zeros(k) if costs is None else np.asarray(costs, np.float64)
    mask = _stage_mask(k, variant, last_stage, names).to(device)
    # Weights the optimiser may move; the others stay at their initial 1 (or 0 outside the mask).
    free = mask.clone()
    if not learn_first_stage:
        free[0, 0] = 0.0
    weights = mask.clone()
    history: list[float] = []

    if variant in ("wise", "no_division"):
        w = weights.clone().requires_grad_(True)
        alphas = _default_alphas(k, l1, l1_free_stages).to(device)
        opt = torch.optim.SGD([w], lr=lr)

        def effective() -> torch.Tensor:
            return w * free + mask * (1 - free)

        def objective() -> torch.Tensor:
            weight = effective()
            combined = torch.einsum("ke,enc->knc", weight, z)  # (K, N, C), no /k in training
            ce = F.cross_entropy(combined.reshape(-1, combined.shape[-1]), y.repeat(k), reduction="none")
            return ce.view(k, -1).mean(dim=1) + alphas * weight.abs().sum(dim=1)

        for _ in range(iterations):
            opt.zero_grad(set_to_none=True)
            # Stages are independent, so the sum's gradient is each stage's own gradient.
            objective().sum().backward()
            opt.step()
        with torch.no_grad():
            weights = effective().detach()
            history = objective().cpu().tolist()

    model = WiseModel(
        weights=weights.cpu().numpy(), costs=costs_arr, names=list(names), variant=variant,
        last_stage=last_stage, first_stage="learned" if learn_first_stage else "raw",
    )
    if calibrate:
        model.temperatures = _calibrate(model, z.cpu(), y.cpu())
    model.history = history
    return model


def _calibrate(model: WiseModel, z: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """One temperature per stage minimising the NLL of that stage's combined logits."""
    model.temperatures = np.ones(model.num_stages, np.float32)
    base = model.stage_logits(z)  # (K, N, C) at T = 1
    log_t = torch.zeros(model.num_stages, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=0.1, max_iter=100)

    def closure():
        opt.zero_grad()
        scaled = base / log_t.exp().view(-1, 1, 1)
        loss = F.cross_entropy(scaled.reshape(-1, scaled.shape[-1]), y.repeat(model.num_stages))
        loss.backward()
        return loss

    opt.step(closure)
    return log_t.detach().exp().numpy().astype(np.float32)


def coviar_fusion(
    logits: np.ndarray | torch.Tensor,
    labels: np.ndarray | torch.Tensor,
    costs: Sequence[float] | None = None,
    names: Sequence[str] = CASCADE,
    weights: dict[str, float] | None = None,
) -> dict:
    """CoViAR's late fusion ``2*I + 1*MV + 1*R`` of the three final exits (I4, MV4, R4).

    Returns:
        dict with ``accuracy`` and ``cost`` (all three networks computed in full).
    """
    weights = weights or {"I4": 2.0, "MV4": 1.0, "R4": 1.0}
    z, y = _as_tensor(logits, labels, "cpu")
    idx = {n: i for i, n in enumerate(names)}
    fused = sum(w * z[idx[n]] for n, w in weights.items())
    # The three networks run in full: the cost is every exit's increment summed.
    total = 0.0 if costs is None else float(np.sum(costs))
    return {"accuracy": float((fused.argmax(-1) == y).float().mean()), "cost": float(total)}


def comparison_models(model: WiseModel) -> dict[str, WiseModel]:
    """``model`` plus the variants derivable from it without training, keyed by a plot label.

    The learned weights serve both the divided and the undivided cascade; "no scaling" and
    "no lateral connections" need no weights at all. Every derived model keeps ``model``'s last
    stage (the authors' ``(I4 + R4 + MV4) / 3`` for no scaling when it is ``"authors"``).
    """
    k, names, costs, last = model.num_stages, model.names, model.costs, model.last_stage
    out = {f"WISE ({model.variant})": model}
    if model.variant in ("wise", "no_division"):
        other = "no_division" if model.variant == "wise" else "wise"
        out[f"WISE ({other})"] = WiseModel(
            model.weights, costs, names, variant=other, last_stage=last, first_stage=model.first_stage
        )
    ones = _stage_mask(k, "no_scaling", last, names).numpy()
    out["no scaling"] = WiseModel(ones, costs, names, variant="no_scaling", last_stage=last)
    out["no lateral"] = WiseModel(np.eye(k), costs, names, variant="no_lateral", last_stage=last)
    return out


def describe(model: WiseModel) -> str:
    """One line saying how ``model``'s first and last stages work (for report tables)."""
    first = "R1 raw (authors)" if model.first_stage == "raw" else "R1 weight learned (pkdkit option)"
    if model.variant == "no_lateral":
        last = "I4 alone"
    elif model.last_stage == "authors":
        last = "3-head I4/R4/MV4 ensemble (authors)"
    else:
        last = "fitted 12-exit stage (pkdkit option)"
    return f"{model.variant}: stage 1 {first}; last stage {last}"
