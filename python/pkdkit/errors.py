"""Exceptions raised by pkdkit when a video cannot be read.

Every message names the file and, where known, the byte offset and frame index, e.g.
``clip.avi: corrupt stream at byte 18234, frame 7: mpeg4: bad marker bit``.
"""

from __future__ import annotations

__all__ = [
    "VideoError",
    "NotAVideoError",
    "UnsupportedCodecError",
    "CorruptStreamError",
    "LimitExceededError",
    "VideoIndexError",
]


class VideoError(Exception):
    """Base class of every error about a video's content."""


class NotAVideoError(VideoError):
    """The file is not a container or stream that pkdkit recognises."""


class UnsupportedCodecError(VideoError):
    """A real video whose codec or coding tool pkdkit does not decode."""


class CorruptStreamError(VideoError):
    """The stream is damaged or truncated; the message gives the byte offset and frame."""


class LimitExceededError(VideoError):
    """A declared size (frame dimensions, chunk length) beyond what pkdkit accepts."""


class VideoIndexError(VideoError, IndexError):
    """A GOP, position or frame index outside the valid range (also an ``IndexError``)."""
