"""Names the demo's pipeline, report and summary share."""

from __future__ import annotations

MODALITIES = ("iframe", "mv", "residual")
MODALITY_NAMES = {"iframe": "I-frame", "mv": "motion vectors", "residual": "residual"}
IC_METHODS = ("ce", "pkd")
