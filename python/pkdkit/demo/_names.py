"""Names the demo's pipeline, report and summary share."""

from __future__ import annotations

from ..vocabulary import MODALITIES

__all__ = ["IC_METHODS", "MODALITIES", "MODALITY_NAMES"]

MODALITY_NAMES = {"iframe": "I-frame", "mv": "motion vectors", "residual": "residual"}
IC_METHODS = ("ce", "pkd")
