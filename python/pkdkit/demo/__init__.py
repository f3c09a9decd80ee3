"""``pkdkit demo``: the whole method end to end on built-in synthetic data, in minutes on a CPU.

:mod:`.pipeline` runs the steps of one seed, :mod:`.report` writes that run's ``report.md``,
:mod:`.summary` compares runs over seeds (``pkdkit demo --seeds N``, ``pkdkit compare``).
"""

from __future__ import annotations

from .pipeline import FULL, QUICK, DemoResult, DemoSettings, demo_config, run_demo, run_demo_seeds, with_overrides
from .summary import compare_runs, load_runs, render_summary, write_summary

__all__ = ["DemoSettings", "DemoResult", "FULL", "QUICK", "run_demo", "run_demo_seeds", "demo_config",
           "with_overrides", "compare_runs", "load_runs", "render_summary", "write_summary"]
