"""Shared pytest set-up: test helpers importable as plain modules, and few CPU threads."""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault("OMP_NUM_THREADS", "1")

try:  # torch is a runtime dependency, but reading video must work without importing it
    import torch

    torch.set_num_threads(1)
except ImportError:  # pragma: no cover
    pass
