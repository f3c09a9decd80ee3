"""Which frames a clip is represented by: TSN segments and CoViAR's GOP position mapping.

CoViAR's rules (``shared/reference/paper.md`` sections 1 and 7), with real GOP boundaries instead
of a fixed GOP of 12:

- The frames are cut into ``num_segments`` equal segments; training takes a random frame of each
  segment, test its centre. MV and residual samples skip frame 0 (the first I-frame has none).
- A frame maps to (GOP, position) through the GOP start frames. For MV and residual, position 0
  (an I-frame, no motion) becomes the last position of the previous GOP; the I-frame modality
  always takes position 0 of the frame's GOP.
- The fused sampling of the PKD paper's IC training takes the GOP of each segment's frame and, in
  that same GOP, the I-frame plus MV and residual at a random P position (training) or at
  ``(length - 1) // 2`` (test; 5 for a GOP of 12).
"""

from __future__ import annotations

import bisect
from typing import Sequence

import numpy as np

from ..vocabulary import MODALITIES

__all__ = ["segment_frames", "frame_to_gop", "coviar_positions", "fused_positions"]


def _motion(modality: str) -> bool:
    if modality not in (*MODALITIES, "dct"):
        raise ValueError(f"modality {modality!r}: expected one of iframe, mv, residual, dct")
    return modality in ("mv", "residual")


def segment_frames(
    num_frames: int, num_segments: int, modality: str, is_train: bool, rng: np.random.Generator | None = None
) -> list[int]:
    """One frame index per segment, CoViAR's way.

    Args:
        num_frames: frames in the video (at least 1; at least 2 for ``mv``/``residual``).
        num_segments: number of segments.
        modality: ``"iframe"``, ``"mv"`` or ``"residual"``; the last two never take frame 0.
        is_train: random frame per segment (needs ``rng``), else the segment centre.
        rng: random source for training.

    Returns:
        ``num_segments`` frame indices in [0, num_frames) ([1, num_frames) for MV/residual).
    """
    skip = 1 if _motion(modality) else 0
    n = num_frames - skip  # frames that can be sampled
    if n < 1:
        raise ValueError(f"{num_frames} frame(s): too short for {modality} (needs {skip + 1})")
    size = (n - 1) / num_segments
    frames = []
    for seg in range(num_segments):
        if is_train:
            if rng is None:
                raise ValueError("training sampling needs a random generator")
            begin, end = int(np.round(size * seg)), int(np.round(size * (seg + 1)))
            end = max(end, begin + 1)
            frame = int(rng.integers(begin, end))
        else:
            frame = int(np.round(size * (seg + 0.5)))
        frames.append(min(frame, n - 1) + skip)
    return frames


def frame_to_gop(frame: int, gop_starts: Sequence[int], gop_lengths: Sequence[int], modality: str) -> tuple[int, int]:
    """(GOP, position) of a frame, CoViAR's mapping on real GOP boundaries.

    Args:
        frame: frame index (display order).
        gop_starts: frame index of each GOP's I-frame, increasing, the first 0.
        gop_lengths: frames per GOP.
        modality: for ``mv``/``residual`` an I-frame maps to the previous GOP's last position;
            for ``iframe`` the position is always 0; for ``dct`` it is the frame's own.

    Returns:
        ``(gop, position)``.
    """
    gop = max(bisect.bisect_right(gop_starts, frame) - 1, 0)
    pos = frame - gop_starts[gop]
    if modality == "dct":  # every frame has coefficients: its own position
        return gop, pos
    if not _motion(modality):
        return gop, 0
    if pos == 0 and gop > 0:
        return gop - 1, gop_lengths[gop - 1] - 1
    return gop, pos


def coviar_positions(
    num_frames: int,
    gop_starts: Sequence[int],
    gop_lengths: Sequence[int],
    num_segments: int,
    modality: str,
    is_train: bool,
    rng: np.random.Generator | None = None,
) -> list[tuple[int, int]]:
    """(GOP, position) of each segment for one modality (CoViAR's ``dataset.py`` sampling)."""
    frames = segment_frames(num_frames, num_segments, modality, is_train, rng)
    return [frame_to_gop(f, gop_starts, gop_lengths, modality) for f in frames]


def fused_positions(
    num_frames: int,
    gop_starts: Sequence[int],
    gop_lengths: Sequence[int],
    num_segments: int,
    is_train: bool,
    rng: np.random.Generator | None = None,
) -> list[tuple[int, int]]:
    """(GOP, P position) per segment for fused sampling: I-frame = that GOP's position 0.

    A GOP of a single frame has no P position; its segment then uses the previous GOP (or, in an
    all-intra video, position 0, whose MV and residual are zero).
    """
    out = []
    for frame in segment_frames(num_frames, num_segments, "iframe", is_train, rng):
        gop, _ = frame_to_gop(frame, gop_starts, gop_lengths, "iframe")
        while gop > 0 and gop_lengths[gop] < 2:
            gop -= 1
        length = gop_lengths[gop]
        if length < 2:
            out.append((gop, 0))
        elif is_train:
            out.append((gop, int(rng.integers(1, length))))  # type: ignore[union-attr]
        else:
            out.append((gop, max(1, (length - 1) // 2)))
    return out
