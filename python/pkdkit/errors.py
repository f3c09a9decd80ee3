"""Exceptions raised by pkdkit when a video cannot be read.

Every message names the file and, where known, the byte offset and frame index, e.g.
``clip.avi: corrupt stream at byte 18234, frame 7: mpeg4: bad marker bit``.

The classes are defined once, in the Rust extension (so the core raises them directly), and
re-exported here. A caller's mistake (an unknown representation name, frames that do not fit
together) is a ``ValueError``, never a :class:`VideoError`: code that skips damaged videos must
not skip bugs.

- :class:`VideoError`: base class of every error about a video's content.
- :class:`NotAVideoError`: the file is not a container or stream that pkdkit recognises.
- :class:`UnsupportedCodecError`: a real video whose codec or coding tool pkdkit does not decode.
- :class:`CorruptStreamError`: the stream is damaged or truncated.
- :class:`LimitExceededError`: a declared size (frame dimensions, chunk length) beyond what
  pkdkit accepts.
- :class:`VideoIndexError`: a GOP, position or frame index outside the valid range (also an
  ``IndexError``).
"""

from __future__ import annotations

from ._core import (
    CorruptStreamError,
    LimitExceededError,
    NotAVideoError,
    UnsupportedCodecError,
    VideoError,
    VideoIndexError,
)

__all__ = [
    "VideoError",
    "NotAVideoError",
    "UnsupportedCodecError",
    "CorruptStreamError",
    "LimitExceededError",
    "VideoIndexError",
]
