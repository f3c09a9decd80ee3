"""The same workloads on two devices (or precisions) agree within tolerance.

The ``cuda`` tests need a GPU; the CPU tests run the identical comparison between a float32 and a
float64 (or bf16-autocast) run, so the workloads and :func:`device_workloads.compare` are exercised
on every machine, and a perturbed result shows the comparison can fail.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from device_workloads import TOLERANCES, WORKLOADS, backbone_step, compare, pkd_step

CPU = torch.device("cpu")
needs_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="torch.cuda.is_available() is False: no CUDA device on this machine"
)


@pytest.mark.parametrize("name", ["backbone_step", "flatness_measure"])
def test_float32_matches_float64_on_cpu(name):
    run = WORKLOADS[name]
    problems = compare(run(CPU, dtype=torch.float64), run(CPU, dtype=torch.float32), *TOLERANCES["fp32"])
    assert problems == []


def test_bf16_autocast_pkd_step_matches_float32_on_cpu():
    problems = compare(pkd_step(CPU, bf16=False), pkd_step(CPU, bf16=True), *TOLERANCES["bf16"])
    assert problems == []


def test_wise_fit_is_repeatable_on_cpu():
    assert compare(WORKLOADS["wise_fit"](CPU), WORKLOADS["wise_fit"](CPU), *TOLERANCES["fp32"]) == []


def test_comparison_reports_a_perturbed_result():
    reference = backbone_step(CPU)
    perturbed = {k: v.copy() for k, v in reference.items()}
    perturbed["grads"][7] += 1e-2 + 0.1 * abs(perturbed["grads"][7])
    problems = compare(reference, perturbed, *TOLERANCES["fp32"])
    assert len(problems) == 1 and problems[0].startswith("grads: 1/") and "worst at 7" in problems[0]
    assert compare(reference, {"loss": reference["loss"]}, 1e-3, 0) == ["grads: present on one side only"]
    assert compare({"a": np.zeros(2)}, {"a": np.zeros(3)}, 1e-3, 0) == ["a: shapes (3,) and (2,)"]


@pytest.mark.cuda
@needs_cuda
@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_cuda_matches_cpu(name):
    cuda = torch.device("cuda")
    torch.backends.cuda.matmul.allow_tf32 = False  # compare float32 with float32, not TF32
    torch.backends.cudnn.allow_tf32 = False
    run = WORKLOADS[name]
    if name == "pkd_step":  # bf16 autocast on the GPU against the float32 CPU result
        problems = compare(pkd_step(CPU, bf16=False), pkd_step(cuda, bf16=True), *TOLERANCES["bf16"])
    else:
        problems = compare(run(CPU), run(cuda), *TOLERANCES["fp32"])
    assert problems == []
