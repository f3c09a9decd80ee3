"""Time the device workloads of the ``cuda`` tests on the CPU and the GPU, and check they agree.

The workloads (``tests/device_workloads.py``): a backbone CE step, a PKD step under bf16 autocast,
the batched WISE fit and a flatness measurement (Lanczos top-2 eigenvalues and a Hutch++ trace).
Each runs ``--repeats`` times per device after one warm-up; the table gives the median seconds, the
CPU/GPU ratio and whether the GPU result matches the CPU one within the tests' tolerances. Without
a CUDA device it times the CPU alone and says so.

    python benches/gpu.py [--repeats 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the workloads the cuda tests compare
from device_workloads import TOLERANCES, WORKLOADS, compare  # noqa: E402


def timed(run, device: torch.device, repeats: int) -> tuple[float, dict]:
    """Median wall seconds of ``repeats`` runs after a warm-up, and the last result."""
    result = run(device)
    seconds = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        result = run(device)
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", default=None, help="write the raw numbers here")
    args = parser.parse_args(argv)
    console = Console()
    cpu = torch.device("cpu")
    cuda = torch.device("cuda") if torch.cuda.is_available() else None
    if cuda is None:
        console.print("No CUDA device (torch.cuda.is_available() is False): timing the CPU only.")
    else:
        torch.backends.cuda.matmul.allow_tf32 = False  # the same float32 arithmetic as the tests
        torch.backends.cudnn.allow_tf32 = False
        console.print(f"GPU: {torch.cuda.get_device_name(0)}")
    table = Table(title=f"Device workloads, median of {args.repeats} runs (torch {torch.__version__})")
    for column in ("workload", "CPU s", "GPU s", "CPU / GPU", "GPU matches CPU"):
        table.add_column(column, justify="left" if column == "workload" else "right")
    rows = {}
    for name, run in WORKLOADS.items():
        cpu_s, cpu_result = timed(run, cpu, args.repeats)
        row = {"cpu_s": cpu_s}
        if cuda is not None:
            # pkd_step runs under bf16 autocast on both devices; the GPU's is checked against float32.
            reference = run(cpu, bf16=False) if name == "pkd_step" else cpu_result
            gpu_s, gpu_result = timed(run, cuda, args.repeats)
            problems = compare(reference, gpu_result, *TOLERANCES["bf16" if name == "pkd_step" else "fp32"])
            row.update(gpu_s=gpu_s, ratio=cpu_s / gpu_s, matches=not problems, problems=problems)
        rows[name] = row
        table.add_row(
            name, f"{cpu_s:.3f}", f"{row['gpu_s']:.3f}" if "gpu_s" in row else "-",
            f"{row['ratio']:.2f}x" if "ratio" in row else "-",
            ("yes" if row["matches"] else "NO: " + "; ".join(row["problems"])) if "matches" in row else "-",
        )
    console.print(table)
    if args.json:
        Path(args.json).write_text(json.dumps({"cuda": cuda is not None, "workloads": rows}, indent=2))
    return 0 if all(r.get("matches", True) for r in rows.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
