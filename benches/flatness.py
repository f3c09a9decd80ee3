"""Top Hessian eigenvalue: pkdkit's Lanczos (and power iteration) against PyHessian.

Same small ResNet, same trained weights, same fixed data subset (the same batches), same device,
same process. For each seed every method starts from its own random vector; we count
Hessian-vector products (HVPs, each one a pass over the whole subset for every method) and
wall time (a) until the method's estimate of the top eigenvalue is within 1% of the reference
and stays there, and (b) until the method stops on its default rule (pkdkit: relative residual
1e-3; PyHessian: relative change 1e-3, at most 100 iterations). The reference is pkdkit's
Lanczos run to a relative residual of 1e-8, cross-checked against PyHessian's final value.

PyHessian is not a pkdkit dependency: ``pip install pyhessian`` (it needs only torch and numpy).

    python benches/flatness.py [--seeds 5] [--classes 101] [--device auto] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import torch
from rich.console import Console
from rich.table import Table
from torch import nn

from pkdkit.flatness import top_eigenvalues
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
    """(HVPs so far, seconds since start, estimate) recorded by whoever computes an estimate."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.times: list[float] = []  # wall time at the end of each HVP

    def tick(self) -> None:
        self.times.append(time.perf_counter() - self.start)


def run_pkdkit(model: nn.Module, batches: Batches, method: str, seed: int) -> dict[str, Any]:
    trace = Trace()
    original = HessianOperator.__call__

    def timed(self: HessianOperator, vector: torch.Tensor) -> torch.Tensor:
        out = original(self, vector)
        _sync(vector.device)
        trace.tick()
        return out

    HessianOperator.__call__ = timed  # type: ignore[method-assign]
    try:
        result = top_eigenvalues(
            model, nn.CrossEntropyLoss(), batches, method=method, tol=1e-3, max_iter=200, seed=seed
        )
    finally:
        HessianOperator.__call__ = original  # type: ignore[method-assign]
    total = time.perf_counter() - trace.start
    points = [(hvps, trace.times[hvps - 1], value) for hvps, value in result.history]
    return {"value": result.eigenvalues[0], "hvps": result.hvps, "seconds": total, "points": points}


def run_pyhessian(model: nn.Module, batches: Batches, seed: int) -> dict[str, Any]:
    from pyhessian import hessian

    torch.manual_seed(seed)  # PyHessian draws its start vector from the global generator
    device = next(model.parameters()).device
    trace = Trace()
    computer = hessian(model, nn.CrossEntropyLoss(), dataloader=batches, cuda=device.type == "cuda")
    original: Callable[..., Any] = computer.dataloader_hv_product
    points: list[tuple[int, float, float]] = []

    def counted(v: list[torch.Tensor]) -> tuple[float, list[torch.Tensor]]:
        value, product = original(v)
        _sync(device)
        trace.tick()
        points.append((len(trace.times), trace.times[-1], value))
        return value, product

    computer.dataloader_hv_product = counted
    values, _ = computer.eigenvalues(maxIter=100, tol=1e-3, top_n=1)
    total = time.perf_counter() - trace.start
    model.zero_grad(set_to_none=True)  # PyHessian leaves create_graph gradients in .grad
    return {"value": float(values[0]), "hvps": len(points), "seconds": total, "points": points}


def first_within(points: list[tuple[int, float, float]], reference: float, rel: float) -> tuple[int, float] | None:
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="start vectors per method")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--train-steps", type=int, default=300)
    parser.add_argument(
        "--classes", type=int, default=101, help="101 as UCF-101: the top of the spectrum has ~classes-1 outliers"
    )
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: leave as is)")
    parser.add_argument("--json", default=None, help="write the raw numbers here")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", message=".*create_graph=True.*")  # PyHessian's backward()
    if args.device == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(args.device)
    try:
        import pyhessian  # noqa: F401
    except ImportError:
        print("PyHessian is not installed: pip install pyhessian", file=sys.stderr)
        return 1
    model, batches = trained_network(device, args.train_steps, args.classes)
    params = sum(p.numel() for p in model.parameters())
    reference = top_eigenvalues(model, nn.CrossEntropyLoss(), batches, tol=1e-8, max_iter=300, seed=12345)
    top = reference.eigenvalues[0]
    console = Console()
    console.print(
        f"SmallResNet, {args.classes} classes, {params} parameters, 256 samples in 4 batches, {device}, "
        f"torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; reference lambda_max = {top:.6g} "
        f"(Lanczos, residual {reference.residuals[0]:.1e}, {reference.hvps} HVPs)"
    )
    rows: dict[str, list[dict[str, Any]]] = {"pkdkit lanczos": [], "pkdkit power": [], "PyHessian": []}
    for seed in range(args.seeds):
        rows["pkdkit lanczos"].append(run_pkdkit(model, batches, "lanczos", seed))
        rows["pkdkit power"].append(run_pkdkit(model, batches, "power", seed))
        rows["PyHessian"].append(run_pyhessian(model, batches, seed))
    table = Table(title=f"Top Hessian eigenvalue, median over {args.seeds} start vectors")
    for column in ("method", "HVPs to 1%", "s to 1%", "HVPs (stop)", "s (stop)", "value (stop)", "error"):
        table.add_column(column, justify="left" if column == "method" else "right")
    summary: dict[str, Any] = {
        "reference": top,
        "classes": args.classes,
        "parameters": params,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "methods": {},
    }
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
        }
        med["rel_error_stop"] = abs(med["value_stop"] - top) / abs(top)
        runs = [
            {"value": r["value"], "hvps": r["hvps"], "seconds": r["seconds"], "to_1pct": list(hit) if hit else None}
            for r, hit in zip(results, reached)
        ]
        med["mean_hvps_to_1pct"] = statistics.mean(r[0] for r in ok) if ok else None
        summary["methods"][name] = {**med, "runs": runs}
        table.add_row(
            name,
            "-" if med["hvps_to_1pct"] is None else f"{med['hvps_to_1pct']:g} ({med['reached_1pct']})",
            "-" if med["seconds_to_1pct"] is None else f"{med['seconds_to_1pct']:.2f}",
            f"{med['hvps_stop']:g}",
            f"{med['seconds_stop']:.2f}",
            f"{med['value_stop']:.6g}",
            f"{100 * med['rel_error_stop']:.3f}%",
        )
    console.print(table)
    base = summary["methods"]["PyHessian"]
    for name in ("pkdkit lanczos", "pkdkit power"):
        ours = summary["methods"][name]
        if ours["hvps_to_1pct"] and base["hvps_to_1pct"]:
            console.print(
                f"{name}: {base['hvps_to_1pct'] / ours['hvps_to_1pct']:.2f}x fewer HVPs and "
                f"{base['seconds_to_1pct'] / ours['seconds_to_1pct']:.2f}x less time to 1% than PyHessian; "
                f"{base['hvps_stop'] / ours['hvps_stop']:.2f}x fewer HVPs at the default stopping rules"
            )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
