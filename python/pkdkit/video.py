"""Opening videos: :func:`open` and :class:`CompressedVideo`.

:func:`open` chooses how a file is read, once: pkdkit's own MPEG-4 Part 2 decoder (the Rust
core) when it decodes the stream, else FFmpeg through PyAV. The Rust core says at indexing time
whether it can decode the stream, so nothing switches decoder later. A :class:`CompressedVideo`
is the same facade over either backend: metadata, decoded frames, and CoViAR's representations.

Opening with the native backend reads the file and the headers only (fast, GIL released);
nothing is decoded until a frame or representation is asked for. When a file goes to FFmpeg,
the ``"pkdkit"`` logger says so once per file, with the reason (a warning for MPEG-4 Part 2
streams whose bitstream pkdkit refused, which may be damage; info otherwise).
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Iterator

import numpy as np

from . import _core
from ._frames import Frame
from ._native import NativeBackend
from ._representations import VideoBackend, out_of_range
from .dct import DctFrame
from .errors import NotAVideoError, UnsupportedCodecError, VideoError

__all__ = ["open", "CompressedVideo", "BACKENDS"]

#: The values of ``open(path, backend=...)``.
BACKENDS = ("auto", "native", "ffmpeg")

log = logging.getLogger("pkdkit")
_reported: set[str] = set()
_reported_lock = threading.Lock()


class CompressedVideo:
    """A video opened with :func:`open`, read by pkdkit's decoder or by FFmpeg (:attr:`backend`).

    Frame counts and picture types follow FFmpeg's decoder: ``num_frames`` and ``frame_types``
    are what ``PyAV``/``ffmpeg`` would output, in display order. A GOP is an I-frame and the
    frames after it up to the next I-frame; position 0 is the I-frame.

    Attributes:
        path: The file name as given to :func:`open`.
    """

    def __init__(self, backend: VideoBackend) -> None:
        self._backend = backend
        self.path: str = backend.path

    # ---- metadata ----

    @property
    def backend(self) -> str:
        """``"native"`` (pkdkit's MPEG-4 Part 2 decoder) or ``"ffmpeg"`` (FFmpeg through PyAV)."""
        return self._backend.name

    @property
    def width(self) -> int:
        """Frame width in pixels."""
        return self._backend.width

    @property
    def height(self) -> int:
        """Frame height in pixels."""
        return self._backend.height

    @property
    def num_frames(self) -> int:
        """Number of frames FFmpeg outputs for this file."""
        return self._backend.num_frames

    @property
    def frame_types(self) -> str:
        """Picture type of every frame in display order, one letter each ("IPPPB..."; "S" = sprite)."""
        return self._backend.frame_types

    @property
    def gop_starts(self) -> list[int]:
        """Frame index (display order) of every I-frame, i.e. of the first frame of each GOP."""
        return self._backend.gop_starts

    @property
    def num_gops(self) -> int:
        """Number of GOPs (an I-frame and the frames up to the next one)."""
        return len(self._backend.gop_starts)

    @property
    def gop_lengths(self) -> list[int]:
        """Number of frames in each GOP."""
        return self._backend.gop_lengths

    @property
    def fps(self) -> float:
        """Frames per second (native: from the container, else the stream's timing, else 25;
        FFmpeg: the container's, 0.0 when it does not say)."""
        return self._backend.fps

    @property
    def codec(self) -> str:
        """FFmpeg's name of the codec (``"mpeg4"`` for MPEG-4 Part 2, ``"h264"``, ...)."""
        return self._backend.codec

    @property
    def profile(self) -> str:
        """Profile and level, e.g. ``"Simple Profile @ L1"``."""
        return self._backend.profile

    @property
    def container(self) -> str:
        """``"m4v"`` (raw elementary stream), ``"avi"``, ``"mp4"`` or ``"mkv"``, sniffed from the content;
        FFmpeg's format name marked ``"(via FFmpeg)"`` for the FFmpeg backend."""
        return self._backend.container

    @property
    def header(self) -> dict[str, int]:
        """Stream facts from the VOL header and the encoder's user data, as ints (flags 0/1);
        empty for the FFmpeg backend.

        Keys: ``vo_type, verid, time_increment_resolution, mpeg_quant, quarter_sample,
        interlaced, sprite_enable, resync_marker_disable, data_partitioned, reversible_vlc,
        obmc_disable, encoder`` (0 unknown, 1 FFmpeg/Lavc, 2 XviD, 3 DivX), ``encoder_build,
        packed_bitstream, custom_intra_matrix, custom_inter_matrix``.
        """
        return self._backend.header

    def __len__(self) -> int:
        return self.num_frames

    def __repr__(self) -> str:
        return (
            f"CompressedVideo({os.path.basename(self.path)!r}, {self.width}x{self.height}, "
            f"{self.num_frames} frames in {self.num_gops} GOP{'s' if self.num_gops != 1 else ''}, {self.fps:g} fps, "
            f"{self.codec} {self.profile}, {self.container}, backend={self.backend!r})"
        )

    # ---- decoding ----

    def frames(
        self, start: int = 0, end: int | None = None, *, idct: str | None = None, b_motion: str = "ffmpeg"
    ) -> Iterator[Frame]:
        """Decode frames ``start..end`` (display order), one at a time.

        The native backend is bit-exact with FFmpeg's decoder (what PyAV gives with
        ``thread_type="NONE"``), motion vectors included, and returns a
        :class:`pkdkit.FrameStream`.

        Args:
            start: First frame (decoding starts at the I-frame at or before it).
            end: One past the last frame; ``None`` for the end of the video.
            idct: ``"simple"`` (FFmpeg's own IDCT), ``"xvid"`` (the XviD IDCT), or ``None`` to
                choose like FFmpeg: XviD's for streams XviD encoded, the simple one otherwise.
                Native backend only.
            b_motion: What B-frames export as ``Frame.motion_vectors``: ``"ffmpeg"`` (the
                default) exactly FFmpeg's entries, all with motion 0 (its MPEG-4 decoder keeps no
                B-frame vectors); ``"real"`` the same kind of entries carrying the vectors each
                block is predicted with (forward, backward, both for interpolated macroblocks,
                and direct mode's derived ones, per 8x8 block where it predicts four blocks), as
                defined in ``docs/representations.md``. ``"real"``: native backend only.

        Returns:
            An iterator of :class:`pkdkit.Frame`. Damaged macroblocks do not raise: they are
            concealed and counted in ``Frame.damaged_mbs`` (always 0 from FFmpeg).

        Raises:
            ValueError: ``idct`` or ``b_motion`` is not one of the allowed values (or ``"real"``
                on the FFmpeg backend), or ``start`` is negative.
        """
        if start < 0:
            raise ValueError(f"start must be >= 0, not {start}")
        if b_motion not in ("ffmpeg", "real"):
            raise ValueError(f"b_motion must be 'ffmpeg' or 'real', not {b_motion!r}")
        return self._backend.frames(int(start), None if end is None else int(end), idct, b_motion)

    # ---- CoViAR's representations ----

    def _check(self, gop: int, pos: int | None = None) -> tuple[int, int]:
        gop, pos = int(gop), 0 if pos is None else int(pos)
        if not 0 <= gop < self.num_gops:
            raise out_of_range(self.path, "gop", gop, self.num_gops)
        if not 0 <= pos < self.gop_lengths[gop]:
            raise out_of_range(self.path, f"gop {gop}: position", pos, self.gop_lengths[gop])
        return gop, pos

    def represent(
        self,
        gop: int,
        pos: int,
        representation: str,
        *,
        accumulate: bool = True,
        bgr: bool = False,
        wide: bool = False,
    ) -> np.ndarray:
        """One representation at one position: what :meth:`iframe`, :meth:`motion_vectors` and
        :meth:`residual` return, by name.

        Args:
            gop: GOP index.
            pos: position in the GOP (ignored for ``"iframe"``).
            representation: ``"iframe"``, ``"mv"``, ``"residual"``, or ``"frame"`` (the decoded
                frame at the position, CoViAR's representation 0).
            accumulate: trace back to the I-frame (CoViAR's default).
            bgr: BGR channel order (CoViAR's) instead of RGB.
            wide: residuals as int32 (CoViAR's) instead of int16.

        Raises:
            VideoIndexError: ``gop`` or ``pos`` out of range.
            ValueError: an unknown representation.
        """
        if representation not in ("iframe", "mv", "residual", "frame"):
            raise ValueError(f"representation must be 'iframe', 'mv', 'residual' or 'frame', got {representation!r}")
        gop, pos = self._check(gop, 0 if representation == "iframe" else pos)
        return self._backend.represent_position(
            gop, pos, representation, accumulate=bool(accumulate), bgr=bool(bgr), wide=bool(wide)
        )

    def iframe(self, gop: int, *, bgr: bool = False) -> np.ndarray:
        """The decoded I-frame that starts GOP ``gop``.

        Args:
            gop: GOP index, ``0 <= gop < num_gops``.
            bgr: channel order BGR (CoViAR's) instead of RGB.

        Returns:
            ``(H, W, 3)`` uint8, BT.601 limited-range conversion (``pkdkit.yuv_to_rgb``).

        Raises:
            VideoIndexError: ``gop`` out of range (also an ``IndexError``).
        """
        return self.represent(gop, 0, "iframe", bgr=bgr)

    def motion_vectors(self, gop: int, pos: int, *, accumulate: bool = True) -> np.ndarray:
        """CoViAR's motion vectors of position ``pos`` of GOP ``gop``.

        Args:
            gop: GOP index.
            pos: position in the GOP, 0 (the I-frame: all zeros) to ``gop_lengths[gop] - 1``.
            accumulate: displacement of each pixel back to the I-frame (CoViAR's default);
                ``False``: the frame's own vectors (displacement to the frame it predicts from).

        Returns:
            ``(H, W, 2)`` int32, ``(dx, dy)`` in whole pixels, ``dx = x - x_source``.

        Raises:
            VideoIndexError: ``gop`` or ``pos`` out of range.
        """
        return self.represent(gop, pos, "mv", accumulate=accumulate)

    def residual(self, gop: int, pos: int, *, accumulate: bool = True, bgr: bool = False) -> np.ndarray:
        """CoViAR's residual of position ``pos`` of GOP ``gop``: the decoded frame minus the
        I-frame (``accumulate``) or the frame it predicts from, sampled through the motion vectors.

        Args:
            gop: GOP index.
            pos: position in the GOP (0: all zeros).
            accumulate: against the I-frame through the accumulated vectors (CoViAR's default).
            bgr: channel order BGR (CoViAR's) instead of RGB.

        Returns:
            ``(H, W, 3)`` int16 in -255..255 (``pkdkit.coviar.load`` gives CoViAR's int32).

        Raises:
            VideoIndexError: ``gop`` or ``pos`` out of range.
        """
        return self.represent(gop, pos, "residual", accumulate=accumulate, bgr=bgr)

    def dct(self, gop: int, pos: int) -> DctFrame:
        """The DCT coefficients of position ``pos`` of GOP ``gop``: for every 8x8 block of Y, U
        and V, the dequantised coefficients the decoder's IDCT receives, with the quantised
        levels, each block's type (intra, inter-coded, not coded) and each macroblock's quantiser.

        The decoder stops before the IDCT: no pixels and no motion compensation are computed, and
        the frames before it are not decoded (coefficients do not depend on reference pixels).
        Arrays are handed over from Rust without a copy. See :class:`pkdkit.dct.DctFrame`.

        Raises:
            VideoIndexError: ``gop`` or ``pos`` out of range.
            UnsupportedCodecError: the file is read by FFmpeg (other codecs), which exports no
                coefficients.
        """
        gop, pos = self._check(gop, pos)
        return self._backend.dct(gop, pos)

    def dct_gop(self, gop: int) -> list[DctFrame]:
        """The DCT coefficients of every position of GOP ``gop``, in display order: the same as
        :meth:`dct` at each position, but the GOP's VOPs are decoded once, in decode order (a
        B-frame's future reference is parsed once for all its B-frames, and one decoder serves
        the GOP). The fast way to the coefficients of every frame.

        Raises:
            VideoIndexError: ``gop`` out of range.
            UnsupportedCodecError: the file is read by FFmpeg, which exports no coefficients.
        """
        gop, _ = self._check(gop)
        return self._backend.dct_gop(gop)

    def dct_frames(self) -> Iterator[DctFrame]:
        """The DCT coefficients of every frame, in display order, as one decode (like
        :meth:`frames` for pixels): every VOP is parsed once, in decode order, and each frame is
        yielded as soon as it is complete. The same as :meth:`dct` at every position; the fast
        way through a whole video (a consumer that drops each frame lets its buffers be reused).

        Raises:
            UnsupportedCodecError: the file is read by FFmpeg, which exports no coefficients.
            CorruptStreamError: (while iterating) a VOP that cannot be decoded, naming the file
                and frame.
        """
        return self._backend.dct_frames()

    def gop_positions(self, gop: int, b_frames: str = "keep") -> list[int]:
        """The positions of GOP ``gop``, in display order.

        Args:
            gop: GOP index.
            b_frames: ``"keep"``: every displayed frame (``range(gop_lengths[gop])``); ``"skip"``:
                the I-frame and the P-frames only (the P-chain). B-frames feed no later frame, so
                the values at those positions are what the P-chain alone gives.

        Raises:
            VideoIndexError: ``gop`` out of range.
            ValueError: ``b_frames`` is not ``"keep"`` or ``"skip"``.
        """
        gop, _ = self._check(gop)
        if b_frames not in ("keep", "skip"):
            raise ValueError(f"b_frames must be 'keep' or 'skip', got {b_frames!r}")
        start = self.gop_starts[gop]
        types = self.frame_types[start : start + self.gop_lengths[gop]]
        return [i for i, t in enumerate(types) if b_frames == "keep" or t != "B"]

    def decode_gop(
        self,
        gop: int,
        *,
        accumulate: bool = True,
        bgr: bool = False,
        b_frames: str = "keep",
        b_motion: str = "ffmpeg",
    ) -> dict[str, np.ndarray]:
        """Every position of GOP ``gop`` at once, decoding it once.

        Args:
            gop: GOP index.
            accumulate: trace back to the I-frame (CoViAR's accumulation) or to the previous frame.
            bgr: residual channels in BGR order.
            b_frames: ``"keep"`` (every position) or ``"skip"`` (the P-chain: see
                :meth:`gop_positions`; the arrays are then copies, in chain order).
            b_motion: the B-frame vectors the representations use: ``"ffmpeg"`` (FFmpeg's zero
                motion, the default) or ``"real"`` (native backend only): a B-position's motion
                vectors and residual are then traced through its past reference with the forward
                vectors it is really predicted with (``docs/representations.md``). I- and
                P-positions are the same either way.

        Returns:
            ``{"iframe": (H, W, 3) uint8, "motion_vectors": (L, H, W, 2) int32,
            "residuals": (L, H, W, 3) int16}`` with ``L = gop_lengths[gop]`` (or the P-chain's
            length); position 0 of ``motion_vectors`` and ``residuals`` is all zeros.

        Raises:
            VideoIndexError: ``gop`` out of range.
            ValueError: ``b_frames`` or ``b_motion`` is not an allowed value, or ``b_motion="real"``
                on the FFmpeg backend.
        """
        positions = self.gop_positions(gop, b_frames=b_frames)
        if b_motion not in ("ffmpeg", "real"):
            raise ValueError(f"b_motion must be 'ffmpeg' or 'real', not {b_motion!r}")
        if b_motion == "real":
            if not isinstance(self._backend, NativeBackend):
                raise ValueError(f"{self.path}: b_motion='real' needs pkdkit's decoder (FFmpeg has no B motion)")
            out = self._backend.represent_gop_real_b(int(gop), accumulate=bool(accumulate), bgr=bool(bgr))
        else:
            out = self._backend.represent_gop(int(gop), accumulate=bool(accumulate), bgr=bool(bgr))
        if b_frames == "skip" and len(positions) != self.gop_lengths[int(gop)]:
            out = {**out, "motion_vectors": out["motion_vectors"][positions], "residuals": out["residuals"][positions]}
        return out


def _report_ffmpeg(path: str, reason: str, codec: str) -> None:
    """Log once per file that FFmpeg reads it, and why pkdkit's decoder does not."""
    key = os.path.abspath(path)
    with _reported_lock:
        if key in _reported:
            return
        _reported.add(key)
    # pkdkit refusing an MPEG-4 Part 2 stream itself ("mpeg4: ..." from the bitstream layer, not
    # the container) may be damage that looks like an unsupported tool: worth a warning.
    level = logging.WARNING if codec == "mpeg4" and "mpeg4:" in reason else logging.INFO
    log.log(level, "%s: read by FFmpeg (%s), not pkdkit's decoder: %s", path, codec, reason)


def open(  # noqa: A001 - pkdkit.open is the entry point
    path: str | os.PathLike[str], *, backend: str = "auto", fallback: bool = True
) -> CompressedVideo:
    """Open a video, choosing once how it is read.

    pkdkit's own decoder reads MPEG-4 Part 2 in raw streams (``.m4v``, CoViAR's ``.mp4``), AVI
    and MP4, recognised from the content, not the file name. Everything else FFmpeg decodes
    (H.264, HEVC, MPEG-2, VP8..., in MP4, Matroska/WebM, MPEG-PS/TS, ...) goes through FFmpeg
    (PyAV) with the same API and the same representation rules (``docs/representations.md``),
    and so do MPEG-4 Part 2 streams using a tool pkdkit does not decode (interlacing, GMC).

    Args:
        path: The video file.
        backend: ``"auto"`` (pkdkit's decoder where it can, else FFmpeg), ``"native"`` (pkdkit's
            decoder only) or ``"ffmpeg"`` (FFmpeg even for streams pkdkit decodes).
        fallback: ``False`` is ``backend="native"`` (kept for older callers).

    Returns:
        The opened video; :attr:`CompressedVideo.backend` says which backend reads it.

    Raises:
        FileNotFoundError: No such file.
        ValueError: An unknown ``backend``.
        pkdkit.NotAVideoError: Neither pkdkit nor FFmpeg reads the file as video.
        pkdkit.UnsupportedCodecError: With ``backend="native"``: a codec or MPEG-4 tool pkdkit
            does not decode; else a stream FFmpeg cannot represent either.
        pkdkit.CorruptStreamError: The file is truncated or damaged (the message gives the byte
            offset and, where known, the frame).
        pkdkit.LimitExceededError: The file declares an absurd frame size.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(map(repr, BACKENDS))}, got {backend!r}")
    if not fallback:
        if backend == "ffmpeg":
            raise ValueError("fallback=False asks for pkdkit's decoder, backend='ffmpeg' for FFmpeg's")
        backend = "native"
    path = os.fspath(path)
    if backend == "ffmpeg":
        from ._pyav import FFmpegBackend

        return CompressedVideo(FFmpegBackend(path))
    refusal: VideoError
    try:
        video = _core.open(path)
    except (UnsupportedCodecError, NotAVideoError) as err:
        if backend == "native":
            raise
        refusal = err
    else:
        if video.unsupported is None:
            return CompressedVideo(NativeBackend(video))
        refusal = UnsupportedCodecError(video.unsupported)
        if backend == "native":
            raise refusal
    return _open_with_ffmpeg(path, refusal)


def _open_with_ffmpeg(path: str, refusal: VideoError) -> CompressedVideo:
    """The FFmpeg backend for a file pkdkit's decoder refused with ``refusal``.

    When FFmpeg fails too, the error that says most: pkdkit's when FFmpeg does not see a video
    or pkdkit saw none (a damaged MPEG-4 stream FFmpeg only half reads), else FFmpeg's.
    """
    from ._pyav import FFmpegBackend

    try:
        ffmpeg = FFmpegBackend(path)
    except VideoError as err:
        if isinstance(err, NotAVideoError) or isinstance(refusal, NotAVideoError):
            raise refusal from err
        raise
    reason = str(refusal).removeprefix(f"{path}: ")
    _report_ffmpeg(path, reason, ffmpeg.codec)
    return CompressedVideo(ffmpeg)
