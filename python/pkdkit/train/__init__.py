"""Training: backbone CE (CoViAR's recipe) and IC training by CE or progressive KD (PKD).

High-level entry points are :func:`train_backbone` and :func:`train_ics`; both write a run
directory with ``checkpoint.pt`` (resumable), ``config.toml`` (the resolved recipe),
``metrics.jsonl``/``metrics.csv``, ``curves.png`` and ``summary.json``. Under ``torchrun`` they
use DistributedDataParallel (gloo on CPU, NCCL on CUDA).
"""

from __future__ import annotations

from .config import DEFAULTS, dump_toml, load_config, merge, resolve
from .loop import FitOptions, NonFiniteLossError, evaluate, fit
from .losses import create_distill_loss, kd_kl_div, soft_target_cross_entropy
from .runs import IC_METHODS, seed_everything, train_backbone, train_ics
from .schedule import SCHEDULES, TeacherSchedule, create_schedule
from .tasks import CETask, PKDTask, unpack_batch

__all__ = [
    "DEFAULTS",
    "IC_METHODS",
    "SCHEDULES",
    "CETask",
    "FitOptions",
    "NonFiniteLossError",
    "PKDTask",
    "TeacherSchedule",
    "create_distill_loss",
    "create_schedule",
    "dump_toml",
    "evaluate",
    "fit",
    "kd_kl_div",
    "load_config",
    "merge",
    "resolve",
    "seed_everything",
    "soft_target_cross_entropy",
    "train_backbone",
    "train_ics",
    "unpack_batch",
]
