"""Decoded frames: the :class:`Frame` results of :meth:`pkdkit.CompressedVideo.frames`.

The Rust decoder hands every buffer to numpy without copying; this module only gives the
motion-vector bytes their structured dtype (a view, still no copy) and wraps each frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from . import _core

__all__ = ["Frame", "FrameStream", "MOTION_VECTOR_DTYPE"]

#: FFmpeg's ``AVMotionVector`` fields (as exported with ``flags2=+export_mvs``, without ``flags``),
#: in its C layout, as the Rust core writes them (the layout is defined once, in the extension).
#: ``source`` is -1 (past reference) or 1 (future reference, B-frames); ``dst`` is the block
#: centre; ``src = dst + motion / motion_scale`` with C integer division; ``motion_scale`` is 2
#: (half-pel) or 4 (quarter-pel streams).
MOTION_VECTOR_DTYPE = np.dtype(
    {
        "names": [name for name, _, _ in _core.MOTION_VECTOR_FIELDS],
        "formats": [fmt for _, fmt, _ in _core.MOTION_VECTOR_FIELDS],
        "offsets": [offset for _, _, offset in _core.MOTION_VECTOR_FIELDS],
        "itemsize": _core.MOTION_VECTOR_RECORD_SIZE,
    }
)


@dataclass(frozen=True, repr=False)
class Frame:
    """One decoded frame.

    Attributes:
        index: Display index in the video (0-based).
        frame_type: ``'I'``, ``'P'``, ``'B'`` (or ``'S'``, a sprite/GMC frame, from FFmpeg).
        yuv: ``(y, u, v)`` uint8 planes of shape ``(H, W)``, ``(ceil(H/2), ceil(W/2))`` twice,
            owned by the frame (no copy was made).
        motion_vectors: ``(N,)`` structured array of dtype :data:`MOTION_VECTOR_DTYPE`, one entry
            per 16x16 macroblock or per 8x8 block of a 4MV macroblock, in FFmpeg's order and with
            its values (skipped macroblocks have zero motion, intra ones none); empty for I-frames.
        damaged_mbs: Macroblocks concealed because of bitstream errors (copied from the
            previous frame, or grey without one).
    """

    index: int
    frame_type: str
    yuv: tuple[np.ndarray, np.ndarray, np.ndarray]
    motion_vectors: np.ndarray
    damaged_mbs: int

    @property
    def damaged(self) -> bool:
        """Whether any part of the frame was concealed."""
        return self.damaged_mbs > 0

    def __repr__(self) -> str:
        h, w = self.yuv[0].shape
        extra = f", damaged_mbs={self.damaged_mbs}" if self.damaged_mbs else ""
        return f"Frame(index={self.index}, type={self.frame_type!r}, {w}x{h}, mvs={len(self.motion_vectors)}{extra})"


class FrameStream:
    """Iterator over decoded frames in display order, decoding one frame per step.

    The decoder keeps only its reference pictures between steps (at most 3), so memory does not
    grow with the length of the video. Decoding runs with the GIL released.
    """

    def __init__(self, stream: _core.FrameStream) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[Frame]:
        return self

    def __next__(self) -> Frame:
        item = next(self._stream)
        index, frame_type, y, u, v, mv_bytes, damaged_mbs = item
        return Frame(index, frame_type, (y, u, v), mv_bytes.view(MOTION_VECTOR_DTYPE), damaged_mbs)

    @property
    def pictures_held(self) -> int:
        """Pictures the decoder holds between frames: the two references B-frames need and a
        recycled buffer, at most 3."""
        return self._stream.pictures_held
