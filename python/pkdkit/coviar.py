"""A drop-in replacement for CoViAR's data loader (``import coviar``, chaoyuaw/pytorch-coviar).

``from pkdkit import coviar`` gives the three functions of CoViAR's C extension with its
signatures, dtypes, layouts and BGR channel order::

    coviar.load(path, gop_index, gop_pos, representation, accumulate)
    coviar.get_num_frames(path)
    coviar.get_num_gops(path)

Differences from CoViAR, all deliberate:

- **Real GOPs.** A GOP starts at every real I-frame, scene-cut I-frames included. CoViAR's loader
  counts I-frames the same way, but its ``dataset.py`` assumes 12 frames per GOP; with pkdkit use
  ``pkdkit.open(path).gop_starts`` / ``gop_lengths`` instead of ``idx // 12``.
- **Colour conversion.** BGR comes from pkdkit's one documented BT.601 integer conversion
  (:func:`pkdkit.yuv_to_rgb`, chroma repeated over 2x2 pixels), not from ``sws_scale`` with
  bicubic chroma upsampling, so I-frame and residual values can differ by a few levels near
  colour edges. Motion vectors are identical.
- **Representation 0 at a position > 0** is the decoded frame there, as in CoViAR's loader
  (``pkdkit.CompressedVideo.iframe`` always gives the GOP's I-frame).
- **Errors.** CoViAR returns ``None`` (and prints) on failure; pkdkit raises: ``VideoIndexError``
  (an ``IndexError``) naming the valid range for a bad GOP or position, ``VideoError``
  subclasses for unreadable files, ``ValueError`` for a bad ``representation``.
- **Speed.** Opened files are cached per process (keyed by path, size and modification time),
  and a call decodes from the GOP's I-frame only, instead of re-parsing the whole file.
- **Other codecs.** Files pkdkit does not decode itself go through FFmpeg (PyAV); see
  :mod:`pkdkit._pyav` for what B-frames mean there.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["load", "get_num_frames", "get_num_gops", "IFRAME", "MV", "RESIDUAL"]

IFRAME, MV, RESIDUAL = 0, 1, 2
# CoViAR's representation 0 is the decoded frame at the position (the I-frame at position 0).
_NAMES = {IFRAME: "frame", MV: "mv", RESIDUAL: "residual"}


@functools.lru_cache(maxsize=8)
def _open_cached(path: str, size: int, mtime_ns: int) -> Any:
    from .video import open as open_video

    return open_video(path)


def _video(path: str | os.PathLike[str]) -> Any:
    p = Path(path)
    st = p.stat()  # FileNotFoundError names the path
    return _open_cached(str(p), st.st_size, st.st_mtime_ns)


def load(
    path: str | os.PathLike[str], gop_index: int, gop_pos: int, representation: int, accumulate: bool
) -> np.ndarray:
    """One frame's representation, exactly as CoViAR's ``coviar.load`` returns it.

    Args:
        path: the video file.
        gop_index: GOP index (a GOP starts at each I-frame).
        gop_pos: position in the GOP (0 = the I-frame).
        representation: 0 = the decoded frame at ``gop_pos`` (the I-frame at position 0, which is
            what CoViAR's ``dataset.py`` always asks for), 1 = motion vectors, 2 = residual.
        accumulate: trace vectors and residuals back to the I-frame (CoViAR's default).

    Returns:
        0: ``(H, W, 3)`` uint8 BGR; 1: ``(H, W, 2)`` int32 ``(dx, dy)``; 2: ``(H, W, 3)`` int32 BGR.
        Positions 0 of 1 and 2 are all zeros.

    Raises:
        ValueError: ``representation`` not 0, 1 or 2.
        VideoIndexError: ``gop_index`` or ``gop_pos`` out of range.
    """
    if representation not in _NAMES:
        raise ValueError(f"representation must be 0 (I-frame), 1 (MV) or 2 (residual), got {representation!r}")
    return _video(path).represent(
        int(gop_index), int(gop_pos), _NAMES[representation], accumulate=bool(accumulate), bgr=True, wide=True
    )


def get_num_frames(path: str | os.PathLike[str]) -> int:
    """Number of frames in the video (CoViAR counts packets; pkdkit counts displayed frames)."""
    return int(_video(path).num_frames)


def get_num_gops(path: str | os.PathLike[str]) -> int:
    """Number of GOPs, i.e. of I-frames, in the video."""
    return int(_video(path).num_gops)
