"""Peers the benches share: the machine's CPU model and CoViAR's own C loader, when importable.

CoViAR's loader (``coviar.load``, chaoyuaw/pytorch-coviar ``data_loader/``) is the loader CoViAR,
TEAM-Net and PKD train with. It is not a pkdkit dependency; build it with the project's peer
script and put it on ``PYTHONPATH``::

    PY=$(which python) bash ../shared/peers/coviar/build.sh /tmp/coviar-peer
    PYTHONPATH=/tmp/coviar-peer/site python benches/representations.py

Without it the CoViAR rows are reported as skipped, with this reason.
"""

from __future__ import annotations

import os
import platform
from types import ModuleType

COVIAR_HINT = (
    "CoViAR's loader is not importable: build it with "
    "`PY=$(which python) bash ../shared/peers/coviar/build.sh /tmp/coviar-peer` and run with "
    "PYTHONPATH=/tmp/coviar-peer/site"
)


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux) and the number of cores."""
    name = ""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{name or platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def load_average() -> float | None:
    """The 1-minute load average (how busy the shared machine was), None where unknown."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def import_coviar() -> tuple[ModuleType | None, str]:
    """CoViAR's C extension and ``""``, or ``None`` and why it cannot be used."""
    try:
        import coviar  # type: ignore[import-not-found]
    except ImportError as err:
        return None, f"{COVIAR_HINT} ({err})"
    if not hasattr(coviar, "load"):
        return None, f"the importable `coviar` ({getattr(coviar, '__file__', '?')}) has no load(); {COVIAR_HINT}"
    return coviar, ""
