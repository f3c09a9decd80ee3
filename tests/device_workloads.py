"""Small, seeded workloads run identically on any device, and the comparison of their results.

The ``cuda``-marked tests run each workload on the GPU and on the CPU and compare them with
:func:`compare`; the CPU tests compare a float32 run with a float64 (or bf16-autocast) run of the
same workload through the same function, so the comparison code is exercised without a GPU.
``benches/gpu.py`` times the same workloads. Inputs and weights are drawn on the CPU from fixed
seeds and then moved, so every device starts from the same numbers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from pkdkit import wise
from pkdkit.flatness import hessian_trace, top_eigenvalues
from pkdkit.models import create_model
from pkdkit.train import PKDTask, create_distill_loss, create_schedule
from pkdkit.train.tasks import CETask

Result = dict[str, np.ndarray]

#: (rtol, atol) per workload and precision: float32 on different devices and kernels agrees to a
#: few ulps per op; bf16 autocast keeps ~3 significant digits.
TOLERANCES: dict[str, tuple[float, float]] = {
    "fp32": (2e-3, 1e-5),
    "bf16": (5e-2, 5e-3),
}


def _inputs(modality: str, batch: int = 4, segments: int = 2, size: int = 32, seed: int = 0):
    channels = {"iframe": 3, "mv": 2, "residual": 3}[modality]
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, segments, channels, size, size, generator=gen)
    y = torch.randint(0, 5, (batch,), generator=gen)
    return x, y


def _network(modality: str, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return create_model("resnet10_tiny", modality=modality, num_classes=5)


def _autocast(device: torch.device, bf16: bool) -> contextlib.AbstractContextManager:
    return torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()


def _grads(params) -> np.ndarray:
    return torch.cat([p.grad.detach().reshape(-1).double().cpu() for p in params if p.grad is not None]).numpy()


def backbone_step(device: torch.device, dtype: torch.dtype = torch.float32) -> Result:
    """CE on exit 4 of a tiny I-frame network in train mode: the loss and every gradient."""
    model = _network("iframe", 1).to(device=device, dtype=dtype)
    x, y = _inputs("iframe")
    task = CETask(model, "iframe", exits=(4,))
    out = task((x.to(device, dtype), y.to(device)))
    out["loss"].backward()
    return {"loss": np.array([out["loss"].item()]), "grads": _grads(model.parameters())}


def pkd_step(device: torch.device, bf16: bool = True, dtype: torch.dtype = torch.float32) -> Result:
    """One PKD loss and backward (MV student, frozen backbone, I-frame teacher), under bf16 autocast
    when ``bf16``: the loss, the IC gradients and the teacher's logits."""
    student = _network("mv", 2).to(device=device, dtype=dtype)
    student.freeze_backbone()
    teacher = _network("iframe", 3).to(device=device, dtype=dtype).eval()
    task = PKDTask(student, "mv", {"iframe": teacher}, create_schedule("fixed", fixed_teacher="iframe"),
                   create_distill_loss("soft_ce"))
    task.set_epoch(0)
    task.train()
    xm, y = _inputs("mv", seed=4)
    xi, _ = _inputs("iframe", seed=4)
    batch = {"mv": xm.to(device, dtype), "iframe": xi.to(device, dtype), "label": y.to(device)}
    with _autocast(device, bf16):
        out = task(batch)
    out["loss"].backward()
    with torch.no_grad(), _autocast(device, bf16):
        target = teacher(batch["iframe"], exits=(4,))[0].float()
    return {"loss": np.array([out["loss"].item()]), "grads": _grads(student.ics.parameters()),
            "teacher": target.double().cpu().numpy()}


def wise_fit(device: torch.device, dtype: torch.dtype = torch.float32) -> Result:
    """The batched WISE fit on fixed random logits (100 SGD steps): the 12x12 weights.

    ``dtype`` is accepted for a uniform signature and ignored: WISE always fits in float32."""
    gen = np.random.default_rng(0)
    y = gen.integers(0, 5, 300)
    z = gen.normal(0, 2.0, (12, 300, 5)).astype(np.float32)
    z[3, np.arange(300), y] += 2.0
    z[11, np.arange(300), y] += 3.0
    model = wise.fit(z, y, iterations=100, device=device)
    return {"weights": model.weights.astype(np.float64)}


def flatness_measure(device: torch.device, dtype: torch.dtype = torch.float32) -> Result:
    """Top Hessian eigenvalue (Lanczos) and Hutch++ trace of a small MLP's loss on fixed data."""
    torch.manual_seed(5)
    model = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 4)).to(device=device, dtype=dtype)
    gen = torch.Generator().manual_seed(6)
    x = torch.randn(64, 8, generator=gen).to(device, dtype)
    y = torch.randint(0, 4, (64,), generator=gen).to(device)
    data = [(x[:32], y[:32]), (x[32:], y[32:])]
    top = top_eigenvalues(model, nn.CrossEntropyLoss(), data, k=2, tol=1e-6, seed=0)
    trace = hessian_trace(model, nn.CrossEntropyLoss(), data, samples=30, seed=0)
    return {"eigenvalues": np.array(top.eigenvalues), "trace": np.array([trace.mean])}


WORKLOADS = {
    "backbone_step": backbone_step,
    "pkd_step": pkd_step,
    "wise_fit": wise_fit,
    "flatness_measure": flatness_measure,
}


def compare(
    reference: Mapping[str, np.ndarray], other: Mapping[str, np.ndarray], rtol: float, atol: float
) -> list[str]:
    """Differences beyond ``|a - b| <= atol + rtol * |b|`` (elementwise), one message per field.

    An empty list means the results agree. Fields missing on either side are reported too.
    """
    problems = []
    for key in sorted(set(reference) | set(other)):
        if key not in reference or key not in other:
            problems.append(f"{key}: present on one side only")
            continue
        a, b = np.asarray(other[key], np.float64), np.asarray(reference[key], np.float64)
        if a.shape != b.shape:
            problems.append(f"{key}: shapes {a.shape} and {b.shape}")
            continue
        bad = np.abs(a - b) > atol + rtol * np.abs(b)
        if bad.any():
            worst = int(np.argmax(np.abs(a - b) - rtol * np.abs(b)))
            problems.append(
                f"{key}: {int(bad.sum())}/{bad.size} values differ, worst at {worst}: "
                f"{a.reshape(-1)[worst]:.6g} vs {b.reshape(-1)[worst]:.6g}"
            )
    return problems
