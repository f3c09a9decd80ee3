"""Opening compressed videos: :func:`open` and :class:`CompressedVideo`.

A :class:`CompressedVideo` is the parsed container and MPEG-4 Part 2 headers of one file, with
an index of every frame. Opening reads the file and the headers only (fast, GIL released);
nothing is decoded until a frame or representation is asked for.
"""

from __future__ import annotations

import os

from . import _core
from ._frames import FrameStream
from ._representations import NativeRepresentations
from .errors import UnsupportedCodecError

__all__ = ["open", "CompressedVideo"]


class CompressedVideo(NativeRepresentations):
    """An MPEG-4 Part 2 video (raw stream, AVI or MP4) opened with :func:`open`.

    Frame counts and picture types follow FFmpeg's decoder: ``num_frames`` and ``frame_types``
    are what ``PyAV``/``ffmpeg`` would output, in display order.

    Attributes:
        path: The file name as given to :func:`open`.
    """

    def __init__(self, video: _core.Video) -> None:
        self._video = video
        self.path: str = video.path

    @property
    def width(self) -> int:
        """Frame width in pixels."""
        return self._video.width

    @property
    def height(self) -> int:
        """Frame height in pixels."""
        return self._video.height

    @property
    def num_frames(self) -> int:
        """Number of frames FFmpeg outputs for this file."""
        return self._video.num_frames

    @property
    def frame_types(self) -> str:
        """Picture type of every frame in display order, one letter each ("IPPPB..."; "S" = sprite)."""
        return self._video.frame_types

    @property
    def gop_starts(self) -> list[int]:
        """Frame index (display order) of every I-frame, i.e. of the first frame of each GOP."""
        return self._video.gop_starts

    @property
    def num_gops(self) -> int:
        """Number of GOPs (an I-frame and the frames up to the next one)."""
        return len(self._video.gop_starts)

    @property
    def gop_lengths(self) -> list[int]:
        """Number of frames in each GOP."""
        return self._video.gop_lengths

    @property
    def fps(self) -> float:
        """Frames per second (from the container, else the stream's timing, else 25)."""
        return self._video.fps

    @property
    def codec(self) -> str:
        """FFmpeg's name of the codec (always ``"mpeg4"``: MPEG-4 Part 2)."""
        return self._video.codec

    @property
    def profile(self) -> str:
        """Profile and level, e.g. ``"Simple Profile @ L1"``."""
        return self._video.profile

    @property
    def container(self) -> str:
        """``"m4v"`` (raw elementary stream), ``"avi"`` or ``"mp4"``, sniffed from the content."""
        return self._video.container

    @property
    def header(self) -> dict[str, int]:
        """Stream facts from the VOL header and the encoder's user data, as ints (flags 0/1).

        Keys: ``vo_type, verid, time_increment_resolution, mpeg_quant, quarter_sample,
        interlaced, sprite_enable, resync_marker_disable, data_partitioned, reversible_vlc,
        obmc_disable, encoder`` (0 unknown, 1 FFmpeg/Lavc, 2 XviD, 3 DivX), ``encoder_build,
        packed_bitstream, custom_intra_matrix, custom_inter_matrix``.
        """
        return self._video.header

    def __len__(self) -> int:
        return self.num_frames

    # ---- R2b: decoding ----

    def frames(self, start: int = 0, end: int | None = None, *, idct: str | None = None) -> FrameStream:
        """Decode frames ``start..end`` (display order), one at a time.

        Output is bit-exact with FFmpeg's decoder (what PyAV gives with ``thread_type="NONE"``),
        motion vectors included.

        Args:
            start: First frame (decoding starts at the I-frame at or before it).
            end: One past the last frame; ``None`` for the end of the video.
            idct: ``"simple"`` (FFmpeg's own IDCT), ``"xvid"`` (the XviD IDCT), or ``None`` to
                choose like FFmpeg: XviD's for streams XviD encoded, the simple one otherwise.

        Returns:
            An iterator of :class:`pkdkit.Frame`; it raises :class:`pkdkit.VideoError` for a
            stream it cannot decode (interlaced data partitioning, static sprites). Damaged
            macroblocks do not raise: they are concealed and counted in ``Frame.damaged_mbs``.

        Raises:
            ValueError: ``idct`` is not one of the allowed values, or ``start`` is negative.
        """
        if start < 0:
            raise ValueError(f"start must be >= 0, not {start}")
        return FrameStream(_core.frames(self._video, start, end, idct))

    def __repr__(self) -> str:
        return (
            f"CompressedVideo({os.path.basename(self.path)!r}, {self.width}x{self.height}, "
            f"{self.num_frames} frames in {self.num_gops} GOP{'s' if self.num_gops != 1 else ''}, {self.fps:g} fps, "
            f"{self.codec} {self.profile}, {self.container})"
        )


def open(path: str | os.PathLike[str], *, fallback: bool = True) -> CompressedVideo:  # noqa: A001
    """Open an MPEG-4 Part 2 video: a raw stream (``.m4v``, CoViAR's ``.mp4``), AVI or MP4.

    The container is recognised from the content, not the file name.

    Args:
        path: The video file.
        fallback: For a video in another codec that FFmpeg decodes (H.264, HEVC, MS-MPEG4...),
            return a ``pkdkit._pyav.PyAVVideo``: the same attributes and representation methods,
            decoded by FFmpeg through PyAV (``docs/representations.md``). ``False`` refuses such
            files with :class:`pkdkit.UnsupportedCodecError` (pkdkit's own reader only).

    Returns:
        The parsed video.

    Raises:
        FileNotFoundError: No such file.
        pkdkit.NotAVideoError: The file is not a video pkdkit recognises.
        pkdkit.UnsupportedCodecError: A video in another codec (H.264, MS-MPEG4...), unless
            ``fallback``, or with an MPEG-4 tool pkdkit does not decode.
        pkdkit.CorruptStreamError: The file is truncated or damaged (the message gives the byte
            offset and, where known, the frame).
        pkdkit.LimitExceededError: The file declares an absurd frame size.
    """
    try:
        return CompressedVideo(_core.open(os.fspath(path)))
    except UnsupportedCodecError as err:
        if not fallback:
            raise
        # Another codec (H.264, HEVC, ...): FFmpeg through PyAV, same API (R3, pkdkit._pyav).
        from ._pyav import open_fallback

        return open_fallback(path, err)
