"""Flatness tools against PyHessian: top eigenvalue, trace and eigenvalue density.

Same small ResNet, same trained weights, same fixed data subset (the same batches), same device,
same process; every Hessian-vector product (HVP) is a pass over the whole subset for every method
(pkdkit's sketch warm start counts its partial passes as fractions).

1. Top eigenvalue. For each seed every method starts from its own random vector; we count HVPs
   and wall time (a) until the estimate is within 1 % of the reference and stays there, and (b)
   until the method stops on its default rule (pkdkit: error bound 1e-3 relative; PyHessian:
   relative change 1e-3, at most 100 iterations). The reference is pkdkit's Lanczos run to 1e-9.
2. Trace. Relative error against a long Hutch++ reference over seeds (median and root mean
   square) of pkdkit's XNysTrace (the default), Hutch++ and Hutchinson at equal budgets, and of
   PyHessian's Hutchinson at its own stopping rule; for each, the number of products Hutchinson
   needs for the same RMS error (from the measured spread of one Hutchinson sample, since its
   error falls exactly as 1/sqrt(products)).
3. Density. Stochastic Lanczos quadrature with the same number of steps: the top node against
   the reference eigenvalue and the quadrature's trace estimate against the reference trace, for
   pkdkit and PyHessian. PyHessian 0.1's density calls ``torch.eig``, removed from torch 2; the
   bench supplies it (from ``torch.linalg.eigh``, T is symmetric) as its users' patch does.

PyHessian is not a pkdkit dependency: the bench installs it with pip when it is missing. If that
fails, it says so and compares against in-bench versions written to PyHessian's documented
algorithms (power iteration with its relative-change rule, Hutchinson with its rule).

    python benches/flatness.py [--seeds 5] [--classes 101] [--device auto] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from rich.console import Console
from rich.table import Table
from torch import nn

from pkdkit.flatness import hessian_trace, spectral_density, top_eigenvalues
from pkdkit.flatness._objective import Objective
from pkdkit.flatness.hvp import HessianOperator

Batches = list[tuple[torch.Tensor, torch.Tensor]]


# ----------------------------------------------------------------------------- the network


class Block(nn.Module):
    """A basic residual block: two 3x3 convolutions with BatchNorm, projection when shapes change."""

    def __init__(self, inputs: int, outputs: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inputs, outputs, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(outputs)
        self.conv2 = nn.Conv2d(outputs, outputs, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(outputs)
        self.shortcut = nn.Sequential()
        if stride != 1 or inputs != outputs:
            self.shortcut = nn.Sequential(nn.Conv2d(inputs, outputs, 1, stride, bias=False), nn.BatchNorm2d(outputs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


class SmallResNet(nn.Module):
    """ResNet-8 for 16x16 images: a stem and three stages of one block (16, 32, 64 channels)."""

    def __init__(self, classes: int = 10, width: int = 16) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        self.stages = nn.Sequential(Block(width, width, 1), Block(width, 2 * width, 2), Block(2 * width, 4 * width, 2))
        self.fc = nn.Linear(4 * width, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.stages(self.stem(x)).mean(dim=(2, 3)))


def make_data(samples: int, classes: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Noisy copies of one smooth random prototype image per class."""
    gen = torch.Generator().manual_seed(seed)
    prototypes = nn.functional.interpolate(torch.randn(classes, 3, 4, 4, generator=gen), size=16, mode="bilinear")
    labels = torch.randint(0, classes, (samples,), generator=gen)
    images = prototypes[labels] + 0.8 * torch.randn(samples, 3, 16, 16, generator=gen)
    return images, labels


def trained_network(device: torch.device, steps: int, classes: int) -> tuple[nn.Module, Batches]:
    """Train the ResNet briefly (towards a minimum); return it with a fixed 256-sample training subset."""
    torch.manual_seed(0)
    model = SmallResNet(classes).to(device)
    images, labels = make_data(2048, classes, seed=1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    gen = torch.Generator().manual_seed(2)
    model.train()
    for _ in range(steps):
        pick = torch.randint(0, len(images), (128,), generator=gen)
        loss = nn.functional.cross_entropy(model(images[pick].to(device)), labels[pick].to(device))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    subset = [(images[i : i + 64].to(device), labels[i : i + 64].to(device)) for i in range(0, 256, 64)]
    return model.eval(), subset


# --------------------------------------------------------------------------------- the runs


class Trace:
    """Wall time at the end of each HVP, for whoever computes an estimate."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.times: list[float] = []

    def tick(self) -> None:
        self.times.append(time.perf_counter() - self.start)


def run_pkdkit(model: nn.Module, batches: Batches, method: str, seed: int, **options: Any) -> dict[str, Any]:
    trace = Trace()
    original = HessianOperator.__call__
    passes: list[float] = []

    def timed(self: HessianOperator, vector: torch.Tensor) -> torch.Tensor:
        out = original(self, vector)
        _sync(vector.device)
        trace.tick()
        passes.append(self.share)
        return out

    HessianOperator.__call__ = timed  # type: ignore[method-assign]
    try:
        result = top_eigenvalues(
            model, nn.CrossEntropyLoss(), batches, method=method, tol=1e-3, max_iter=200, seed=seed, **options
        )
    finally:
        HessianOperator.__call__ = original  # type: ignore[method-assign]
    total = time.perf_counter() - trace.start
    cumulative = np.cumsum(passes)

    def seconds_at(cost: float) -> float:
        return trace.times[int(np.searchsorted(cumulative, cost - 1e-9))]

    points = [(hvps, seconds_at(hvps), value) for hvps, value in result.history]
    return {"value": result.eigenvalues[0], "hvps": result.hvps, "seconds": total, "points": points}


def _pyhessian(model: nn.Module, batches: Batches) -> Any:
    from pyhessian import hessian

    device = next(model.parameters()).device
    return hessian(model, nn.CrossEntropyLoss(), dataloader=batches, cuda=device.type == "cuda")


def run_pyhessian(model: nn.Module, batches: Batches, seed: int, have_pyhessian: bool) -> dict[str, Any]:
    torch.manual_seed(seed)  # PyHessian draws its start vector from the global generator
    device = next(model.parameters()).device
    trace = Trace()
    points: list[tuple[int, float, float]] = []
    if have_pyhessian:
        computer = _pyhessian(model, batches)
        original: Callable[..., Any] = computer.dataloader_hv_product

        def counted(v: list[torch.Tensor]) -> tuple[float, list[torch.Tensor]]:
            value, product = original(v)
            _sync(device)
            trace.tick()
            points.append((len(trace.times), trace.times[-1], value))
            return value, product

        computer.dataloader_hv_product = counted
        values, _ = computer.eigenvalues(maxIter=100, tol=1e-3, top_n=1)
        value = float(values[0])
        model.zero_grad(set_to_none=True)  # PyHessian leaves create_graph gradients in .grad
    else:
        value = 0.0
        for hvps, estimate in documented_power_iteration(model, batches):
            trace.tick()
            points.append((hvps, trace.times[-1], estimate))
            value = estimate
    total = time.perf_counter() - trace.start
    return {"value": value, "hvps": len(points), "seconds": total, "points": points}


def documented_power_iteration(model: nn.Module, batches: Batches, max_iter: int = 100, tol: float = 1e-3):
    """PyHessian's documented eigenvalue algorithm (used only when PyHessian cannot be installed):
    v <- Hv / ||Hv|| from a global-RNG Gaussian start, lambda = v^T H v, stop when the relative
    change of lambda falls below tol. Yields (HVPs, estimate)."""
    model.eval()
    op = HessianOperator(Objective(model, nn.CrossEntropyLoss(), batches))
    v = torch.randn(op.dim, device=op.objective.device)
    v = v / v.norm()
    previous = None
    for i in range(max_iter):
        hv = op(v)
        value = float(v @ hv)
        yield i + 1, value
        if previous is not None and abs(value - previous) / (abs(previous) + 1e-6) < tol:
            return
        previous = value
        v = hv / hv.norm()


def documented_hutchinson(model: nn.Module, batches: Batches, max_iter: int = 100, tol: float = 1e-3) -> list[float]:
    """PyHessian's documented trace algorithm (used only when PyHessian cannot be installed):
    Rademacher v^T H v samples until the running mean changes by less than tol (relative)."""
    model.eval()
    op = HessianOperator(Objective(model, nn.CrossEntropyLoss(), batches))
    samples: list[float] = []
    mean = 0.0
    for _ in range(max_iter):
        v = torch.randint(0, 2, (op.dim,), device=op.objective.device).float() * 2 - 1
        samples.append(float(v @ op(v)))
        if abs(np.mean(samples) - mean) / (mean + 1e-6) < tol:
            break
        mean = float(np.mean(samples))
    return samples


def first_within(points: list[tuple[float, float, float]], reference: float, rel: float) -> tuple[float, float] | None:
    """(HVPs, seconds) after which every later estimate is within ``rel`` of the reference."""
    answer = None
    for hvps, seconds, value in points:
        if abs(value - reference) <= rel * abs(reference):
            answer = answer or (hvps, seconds)
        else:
            answer = None
    return answer


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def ensure_pyhessian(console: Console) -> bool:
    """Import PyHessian, pip-installing it into this interpreter when missing; False if impossible."""
    try:
        import pyhessian  # noqa: F401

        return True
    except ImportError:
        pass
    console.print("PyHessian is missing: pip install pyhessian ...")
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "pyhessian"], check=False)
    if done.returncode != 0:
        console.print("[bold]PyHessian could not be installed[/bold]: comparing against in-bench versions of "
                      "its documented algorithms (power iteration, Hutchinson) instead.")
        return False
    import pyhessian  # noqa: F401, F811

    return True


def patch_torch_eig() -> None:
    """PyHessian 0.1's density calls torch.eig (removed in torch 2); T is symmetric, so eigh serves."""
    try:
        torch.eig(torch.eye(2), eigenvectors=True)  # type: ignore[attr-defined]
        return  # an old torch that still has it
    except (AttributeError, RuntimeError):
        pass  # torch 2 keeps a stub that raises

    def eig(matrix: torch.Tensor, eigenvectors: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        values, vectors = torch.linalg.eigh(matrix)
        return torch.stack([values, torch.zeros_like(values)], dim=1), vectors

    torch.eig = eig  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------- the sections


def eigen_section(console, model, batches, seeds, have_pyhessian) -> tuple[float, dict[str, Any]]:
    reference = top_eigenvalues(model, nn.CrossEntropyLoss(), batches, tol=1e-9, max_iter=300, seed=12345)
    top = reference.eigenvalues[0]
    console.print(f"reference lambda_max = {top:.6g} (Lanczos, bound {reference.error_bounds[0]:.1e}, "
                  f"{reference.hvps:g} HVPs)")
    base = "PyHessian" if have_pyhessian else "power (PyHessian's rule, in-bench)"
    rows: dict[str, list[dict[str, Any]]] = {
        "pkdkit lanczos": [], "pkdkit lanczos + sketch 1/4": [], "pkdkit power": [], base: []
    }
    for seed in range(seeds):
        rows["pkdkit lanczos"].append(run_pkdkit(model, batches, "lanczos", seed))
        rows["pkdkit lanczos + sketch 1/4"].append(run_pkdkit(model, batches, "lanczos", seed, sketch=0.25))
        rows["pkdkit power"].append(run_pkdkit(model, batches, "power", seed))
        rows[base].append(run_pyhessian(model, batches, seed, have_pyhessian))
    table = Table(title=f"Top Hessian eigenvalue, median over {seeds} start vectors")
    for column in ("method", "HVPs to 1%", "s to 1%", "HVPs (stop)", "s (stop)", "value (stop)", "error"):
        table.add_column(column, justify="left" if column == "method" else "right")
    summary: dict[str, Any] = {"reference": top, "methods": {}}
    for name, results in rows.items():
        reached = [first_within(r["points"], top, 0.01) for r in results]
        ok = [r for r in reached if r is not None]
        med = {
            "hvps_to_1pct": statistics.median(r[0] for r in ok) if ok else None,
            "seconds_to_1pct": statistics.median(r[1] for r in ok) if ok else None,
            "reached_1pct": f"{len(ok)}/{len(results)}",
            "hvps_stop": statistics.median(r["hvps"] for r in results),
            "seconds_stop": statistics.median(r["seconds"] for r in results),
            "value_stop": statistics.median(r["value"] for r in results),
            "max_rel_error_stop": max(abs(r["value"] - top) / abs(top) for r in results),
        }
        med["rel_error_stop"] = abs(med["value_stop"] - top) / abs(top)
        med["runs"] = [
            {"value": r["value"], "hvps": r["hvps"], "seconds": r["seconds"], "to_1pct": list(hit) if hit else None}
            for r, hit in zip(results, reached)
        ]
        summary["methods"][name] = med
        table.add_row(
            name,
            "-" if med["hvps_to_1pct"] is None else f"{med['hvps_to_1pct']:.3g} ({med['reached_1pct']})",
            "-" if med["seconds_to_1pct"] is None else f"{med['seconds_to_1pct']:.2f}",
            f"{med['hvps_stop']:.3g}",
            f"{med['seconds_stop']:.2f}",
            f"{med['value_stop']:.6g}",
            f"{100 * med['rel_error_stop']:.3f}% (max {100 * med['max_rel_error_stop']:.2f}%)",
        )
    console.print(table)
    theirs = summary["methods"][base]
    for name in ("pkdkit lanczos", "pkdkit lanczos + sketch 1/4", "pkdkit power"):
        ours = summary["methods"][name]
        if ours["hvps_to_1pct"] and theirs["hvps_to_1pct"]:
            console.print(
                f"{name}: {theirs['hvps_to_1pct'] / ours['hvps_to_1pct']:.2f}x fewer HVPs and "
                f"{theirs['seconds_to_1pct'] / ours['seconds_to_1pct']:.2f}x less time to 1% than {base}; "
                f"{theirs['hvps_stop'] / ours['hvps_stop']:.2f}x fewer HVPs at the default stopping rules"
            )
    return top, summary


def trace_section(console, model, batches, seeds, budgets, reference_budget, have_pyhessian) -> dict[str, Any]:
    """Relative error at equal products, and the products Hutchinson needs for the same error.

    Hutchinson's samples are independent, so its mean squared error at ``m`` products is
    ``sigma^2 / m`` with ``sigma`` the spread of one sample ``v^T H v``; ``sigma`` comes from every
    Hutchinson sample the section draws (``seeds x sum(budgets)`` of them). An estimator with
    root-mean-square error ``e`` (relative) therefore matches a Hutchinson of
    ``(sigma / (e * trace))^2`` products: the "Hutchinson HVPs for the same error" column.
    """
    criterion = nn.CrossEntropyLoss()
    reference = hessian_trace(model, criterion, batches, samples=reference_budget, method="hutch++", seed=999)
    truth = reference.mean
    console.print(f"reference trace = {truth:.6g} (Hutch++, {reference.hvps} HVPs, 95% CI "
                  f"{reference.ci95[0]:.6g} .. {reference.ci95[1]:.6g})")
    methods = ("xnystrace", "hutch++", "hutchinson")
    runs = {(method, budget): [hessian_trace(model, criterion, batches, samples=budget, method=method, seed=s)
                               for s in range(seeds)]
            for budget in budgets for method in methods}
    pool = np.concatenate([r.samples for b in budgets for r in runs[("hutchinson", b)]])
    sigma = float(np.std(pool, ddof=1))
    console.print(f"Hutchinson: one sample's relative spread sigma/trace = {sigma / abs(truth):.3f} "
                  f"({len(pool)} samples)")
    table = Table(title=f"Hessian trace: relative error over {seeds} seeds at equal HVPs")
    table.add_column("method", justify="left")
    for column in ("HVPs", "median |error|", "RMS error", "Hutchinson HVPs for the same RMS error",
                   "95% CI covers the reference"):
        table.add_column(column, justify="right")
    out: dict[str, Any] = {"reference": truth, "reference_ci95": reference.ci95, "hutchinson_sigma": sigma,
                           "rows": []}
    for budget in budgets:
        for method in methods:
            results = runs[(method, budget)]
            errors = np.array([(r.mean - truth) / abs(truth) for r in results])
            rms = float(np.sqrt(np.mean(errors**2)))
            cover = sum(r.ci95[0] <= truth <= r.ci95[1] for r in results)
            row = {"method": f"pkdkit {method}", "hvps": results[0].hvps,
                   "median_rel_error": float(np.median(np.abs(errors))), "rms_rel_error": rms,
                   "hutchinson_hvps_same_error": (sigma / (rms * abs(truth))) ** 2 if rms > 0 else math.inf,
                   "covered": f"{cover}/{seeds}"}
            out["rows"].append(row)
            table.add_row(row["method"], str(row["hvps"]), f"{100 * row['median_rel_error']:.2f}%",
                          f"{100 * rms:.2f}%", f"{row['hutchinson_hvps_same_error']:.0f}", row["covered"])
    theirs = []
    for s in range(seeds):
        torch.manual_seed(s)
        if have_pyhessian:
            samples = _pyhessian(model, batches).trace(maxIter=100, tol=1e-3)
            model.zero_grad(set_to_none=True)
        else:
            samples = documented_hutchinson(model, batches)
        theirs.append((len(samples), (float(np.mean(samples)) - truth) / abs(truth)))
    rms = float(np.sqrt(np.mean([e**2 for _, e in theirs])))
    row = {"method": "PyHessian trace (its rule)" if have_pyhessian else "Hutchinson (PyHessian's rule, in-bench)",
           "hvps": statistics.median(h for h, _ in theirs),
           "median_rel_error": statistics.median(abs(e) for _, e in theirs), "rms_rel_error": rms,
           "hutchinson_hvps_same_error": (sigma / (rms * abs(truth))) ** 2 if rms > 0 else math.inf,
           "covered": "no interval"}
    out["rows"].append(row)
    table.add_row(row["method"], f"{row['hvps']:g}", f"{100 * row['median_rel_error']:.2f}%", f"{100 * rms:.2f}%",
                  f"{row['hutchinson_hvps_same_error']:.0f}", row["covered"])
    console.print(table)
    return out


def density_section(console, model, batches, top, trace, steps, have_pyhessian) -> dict[str, Any]:
    criterion = nn.CrossEntropyLoss()
    dim = sum(p.numel() for p in model.parameters())
    started = time.perf_counter()
    ours = spectral_density(model, criterion, batches, steps=steps, probes=1, seed=0)
    ours_s = time.perf_counter() - started
    rows = [{"method": "pkdkit SLQ", "hvps": ours.hvps, "seconds": ours_s,
             "top_node": float(ours.nodes[0].max()), "trace_estimate": ours.trace_estimate(dim)}]
    if have_pyhessian:
        patch_torch_eig()
        torch.manual_seed(0)
        started = time.perf_counter()
        nodes, weights = _pyhessian(model, batches).density(iter=steps, n_v=1)
        theirs_s = time.perf_counter() - started
        model.zero_grad(set_to_none=True)
        theta, w = np.asarray(nodes[0]), np.asarray(weights[0])
        rows.append({"method": "PyHessian density", "hvps": steps, "seconds": theirs_s,
                     "top_node": float(theta.max()), "trace_estimate": float(dim * np.dot(w, theta))})
    table = Table(title=f"Eigenvalue density (SLQ, {steps} steps, 1 probe)")
    for column in ("method", "HVPs", "s", "top node", "vs lambda_max", "P * sum w theta", "vs trace"):
        table.add_column(column, justify="left" if column == "method" else "right")
    for r in rows:
        table.add_row(r["method"], f"{r['hvps']}", f"{r['seconds']:.2f}", f"{r['top_node']:.6g}",
                      f"{100 * (r['top_node'] - top) / top:+.3f}%", f"{r['trace_estimate']:.6g}",
                      f"{100 * (r['trace_estimate'] - trace) / trace:+.1f}%")
    console.print(table)
    return {"steps": steps, "rows": rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="start vectors / probe seeds per method")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--train-steps", type=int, default=300)
    parser.add_argument(
        "--classes", type=int, default=101, help="101 as UCF-101: the top of the spectrum has ~classes-1 outliers"
    )
    parser.add_argument("--budgets", default="12,24,48", help="trace HVP budgets (multiples of 3: Hutch++ needs them)")
    parser.add_argument("--reference-budget", type=int, default=240, help="HVPs of the reference trace (Hutch++)")
    parser.add_argument("--density-steps", type=int, default=30)
    parser.add_argument("--sections", default="eigen,trace,density")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: leave as is)")
    parser.add_argument("--json", default=None, help="write the raw numbers here")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", message=".*create_graph=True.*")  # PyHessian's backward()
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device)
    console = Console()
    have_pyhessian = ensure_pyhessian(console)
    model, batches = trained_network(device, args.train_steps, args.classes)
    params = sum(p.numel() for p in model.parameters())
    console.print(
        f"SmallResNet, {args.classes} classes, {params} parameters, 256 samples in 4 batches, {device}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    sections = set(args.sections.split(","))
    summary: dict[str, Any] = {"classes": args.classes, "parameters": params, "device": str(device),
                               "threads": torch.get_num_threads(), "pyhessian": have_pyhessian}
    top, summary["eigen"] = eigen_section(console, model, batches, args.seeds, have_pyhessian)
    trace = None
    if "trace" in sections or "density" in sections:
        budgets = [int(b) for b in args.budgets.split(",")]
        summary["trace"] = trace_section(
            console, model, batches, args.seeds, budgets, args.reference_budget, have_pyhessian
        )
        trace = summary["trace"]["reference"]
    if "density" in sections:
        summary["density"] = density_section(console, model, batches, top, trace, args.density_steps, have_pyhessian)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
