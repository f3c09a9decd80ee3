"""Names shared across pkdkit: the three modalities and the prefixes of their exits.

One home for these values, so adding or renaming one is one change. No imports: reading video
and the CLI use it without torch.
"""

from __future__ import annotations

__all__ = ["MODALITIES", "PREFIXES", "CASCADE_MODALITIES", "CASCADE_EXITS", "NUM_EXITS"]

#: The three networks' inputs (CoViAR's representations), in the CLI's ``--runs I,MV,R`` order.
MODALITIES: tuple[str, ...] = ("iframe", "mv", "residual")

#: The short name of each modality in exit names ("I1".."I4", "MV1"..., "R1"...).
PREFIXES: dict[str, str] = {"iframe": "I", "mv": "MV", "residual": "R"}

#: The early-exit cascade's order of networks (cheapest first): ``(prefix, modality)``.
CASCADE_MODALITIES: tuple[tuple[str, str], ...] = (("R", "residual"), ("MV", "mv"), ("I", "iframe"))

#: Exits per network: three internal classifiers and the final fc.
NUM_EXITS = 4

#: The 12 exits in cascade order: R1..R4, MV1..MV4, I1..I4.
CASCADE_EXITS: tuple[str, ...] = tuple(f"{p}{i}" for p, _ in CASCADE_MODALITIES for i in range(1, NUM_EXITS + 1))
