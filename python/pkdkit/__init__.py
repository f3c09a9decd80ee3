"""pkdkit: compressed-video action recognition with Progressive Knowledge Distillation and WISE.

The video side (:func:`open`, :class:`CompressedVideo`, :func:`load_batch`) is a Rust core; the
learning side lives in the sub-packages :mod:`pkdkit.models`, :mod:`pkdkit.train`,
:mod:`pkdkit.flatness`, :mod:`pkdkit.wise` and :mod:`pkdkit.data`, imported on demand so that
reading video never imports torch.
"""

from __future__ import annotations

from ._colour import yuv_to_rgb
from ._core import __version__
from ._frames import MOTION_VECTOR_DTYPE, Frame, FrameStream
from .block_motion import BlockMotion, block_motion  # noqa: F401 - public: pkdkit.block_motion(video, gop, pos)
from .errors import (
    CorruptStreamError,
    LimitExceededError,
    NotAVideoError,
    UnsupportedCodecError,
    VideoError,
    VideoIndexError,
)
from .representations import load_batch
from .video import CompressedVideo, open  # noqa: A004 - pkdkit.open is the entry point

__all__ = [
    "__version__",
    "VideoError",
    "NotAVideoError",
    "UnsupportedCodecError",
    "CorruptStreamError",
    "LimitExceededError",
    "VideoIndexError",
    "yuv_to_rgb",
    "open",
    "CompressedVideo",
    "Frame",
    "FrameStream",
    "MOTION_VECTOR_DTYPE",
    "load_batch",
]
