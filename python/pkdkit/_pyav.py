"""The FFmpeg backend: videos pkdkit's decoder does not read (H.264, HEVC, MPEG-2, VP8...,
in any container FFmpeg demuxes: MP4, Matroska/WebM, MPEG-PS/TS, ...), decoded by FFmpeg
through PyAV. FFmpeg's frames and exported motion vectors go through the same Rust kernels as
pkdkit's own decoder, so the representations follow the same rules.

What the rules mean here:

- GOPs start at FFmpeg's I-frames (``pict_type`` I), in display order.
- Only past vectors (``source < 0``) are used. A frame's reference ("anchor") is the latest I- or
  P-frame before it in display order: without B-frames, the previous frame, exactly CoViAR. A
  B-frame's forward vectors point into its past anchor; B-frames never feed later frames.
- With several reference frames (H.264), FFmpeg's export does not say which past frame a vector
  points to; every past vector is taken as pointing to the anchor. Accumulated vectors are then
  an approximation, documented rather than hidden.
- Codecs whose FFmpeg decoder exports no vectors (HEVC, VP9, AV1, ...): I-frames work,
  ``motion_vectors``/``residual`` raise :class:`~pkdkit.errors.UnsupportedCodecError`.

Finding a GOP: the file is indexed once at open (a full decode recording picture types and
timestamps). A GOP is then decoded after a seek to its I-frame's timestamp, and the frames are
matched to the index by timestamp. Some containers do not honour such seeks (MPEG program and
transport streams land before or after the frame asked for); when the frames after a seek are
not exactly the GOP's, the file is read by decoding from the start instead (keeping the decoder
open, so reading GOPs in order decodes the file once). The last GOP is cached.

PyAV's exceptions become :class:`~pkdkit.errors.VideoError` subclasses naming the file (I/O
errors stay ``OSError``), so damaged input never looks like a bug in the caller's code.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Iterator

import numpy as np

from . import _core
from ._frames import MOTION_VECTOR_DTYPE, Frame
from .errors import CorruptStreamError, NotAVideoError, UnsupportedCodecError

__all__ = ["FFmpegBackend", "ffmpeg_errors"]

# FFmpeg's AVPictureType values as PyAV reports them; SI/SP/BI count as I/P/B.
_PICTURE_LETTERS = {1: "I", 2: "P", 3: "B", 4: "S", 5: "I", 6: "P", 7: "B"}
_VECTOR_FIELDS = ("source", "w", "h", "src_x", "src_y", "dst_x", "dst_y", "motion_x", "motion_y", "motion_scale")


@contextlib.contextmanager
def ffmpeg_errors(path: str, *, opening: bool = False) -> Iterator[None]:
    """Turn PyAV's exceptions into pkdkit's, naming ``path``.

    I/O errors (``FileNotFoundError``, ``PermissionError``) pass through: they are not about the
    video's content. A codec FFmpeg cannot decode is :class:`UnsupportedCodecError`; data it
    cannot parse is :class:`NotAVideoError` when ``opening`` (the container itself) and
    :class:`CorruptStreamError` otherwise.
    """
    import av

    try:
        yield
    except av.error.FFmpegError as err:
        if isinstance(err, OSError):
            raise
        message = f"{path}: FFmpeg: {err}"
        if isinstance(err, (av.error.DecoderNotFoundError, av.error.PatchWelcomeError)):
            raise UnsupportedCodecError(message) from err
        if opening:
            raise NotAVideoError(message) from err
        raise CorruptStreamError(message) from err
    except UnicodeDecodeError as err:  # PyAV decoding a damaged container's metadata
        raise NotAVideoError(f"{path}: FFmpeg: unreadable metadata: {err}") from err


@dataclass
class _GopFrames:
    """One decoded GOP: picture letters, (Y, U, V) planes and (N, 10) int32 vectors per frame."""

    types: str = ""
    planes: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    vectors: list[np.ndarray] = field(default_factory=list)

    def add(self, frame: Any) -> None:
        self.types += _letter(frame)
        self.planes.append(_planes(frame))
        rec = _vector_records(frame)
        self.vectors.append(np.stack([rec[name].astype(np.int32) for name in _VECTOR_FIELDS], axis=1).reshape(-1, 10))


def _planes(frame: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Copies of the frame's 4:2:0 planes without row padding (PyAV reuses its buffers)."""
    if frame.format.name != "yuv420p":
        frame = frame.reformat(format="yuv420p")
    out = []
    for plane in frame.planes:
        rows = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
        out.append(rows[:, : plane.width].copy())
    return out[0], out[1], out[2]


def _vector_records(frame: Any) -> np.ndarray:
    """FFmpeg's exported motion vectors as :data:`MOTION_VECTOR_DTYPE` records (empty if none)."""
    side = frame.side_data.get("MOTION_VECTORS")
    if side is None:
        return np.zeros(0, MOTION_VECTOR_DTYPE)
    rec = side.to_ndarray()
    out = np.zeros(len(rec), MOTION_VECTOR_DTYPE)
    for name in MOTION_VECTOR_DTYPE.names:
        out[name] = rec[name]
    return out


def _letter(frame: Any) -> str:
    return _PICTURE_LETTERS.get(int(frame.pict_type), "P")


class _Decoder:
    """An open container decoding its first video stream with vectors exported, in display order."""

    def __init__(self, path: str) -> None:
        import av

        with ffmpeg_errors(path, opening=True):
            self.container = av.open(path)
        if not self.container.streams.video:
            self.container.close()
            raise NotAVideoError(f"{path}: FFmpeg finds no video stream")
        self.path = path
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = "NONE"
        self.stream.codec_context.options = {"flags2": "+export_mvs"}

    def decode(self) -> Iterator[Any]:
        """The frames from the current position; PyAV's errors as pkdkit's."""
        frames = self.container.decode(self.stream)
        while True:
            with ffmpeg_errors(self.path):
                frame = next(frames, None)
            if frame is None:
                return
            yield frame

    def close(self) -> None:
        self.container.close()


class FFmpegBackend:
    """A :class:`pkdkit._representations.VideoBackend` reading the file with FFmpeg (PyAV).

    Attributes:
        codec: FFmpeg's codec name (``"h264"``, ``"hevc"``, ...).
        container: FFmpeg's format name, marked ``"(via FFmpeg)"``.
        fps: frames per second (0.0 when the container does not say).
        exports_vectors: whether FFmpeg exported motion vectors for this codec.
    """

    name = "ffmpeg"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        if not os.path.exists(self.path):
            raise FileNotFoundError(f"{self.path}: no such file")
        self.header: dict[str, int] = {}
        self.exports_vectors = False
        letters: list[str] = []
        pts: list[int | None] = []
        decoder = _Decoder(self.path)
        try:
            stream = decoder.stream
            self.codec: str = stream.codec_context.name
            # Reported like the native reader's fields, marked as FFmpeg's reading of the file.
            self.container: str = f"{decoder.container.format.name} (via FFmpeg)"
            self.profile: str = stream.codec_context.profile or "unknown profile"
            rate = stream.average_rate or stream.base_rate
            self.fps: float = float(Fraction(rate)) if rate else 0.0
            for frame in decoder.decode():
                if not letters:
                    self.width, self.height = frame.width, frame.height
                self._check_size(frame, len(letters))
                letters.append(_letter(frame))
                pts.append(frame.pts)
                if letters[-1] != "I" and frame.side_data.get("MOTION_VECTORS") is not None:
                    self.exports_vectors = True
        finally:
            decoder.close()
        if not letters:
            raise NotAVideoError(f"{self.path}: FFmpeg decodes no video frames")
        if letters[0] != "I":
            # Frames before the first I-frame cannot be traced back to one; refuse, not guess.
            raise UnsupportedCodecError(f"{self.path}: the first frame FFmpeg decodes is not an I-frame ({letters[0]})")
        self.frame_types = "".join(letters)
        self.num_frames = len(letters)
        self.gop_starts = [i for i, t in enumerate(letters) if t == "I"]
        ends = self.gop_starts[1:] + [self.num_frames]
        self.gop_lengths = [e - s for s, e in zip(self.gop_starts, ends)]
        self._pts = pts
        self._index_of_pts = {p: i for i, p in enumerate(pts)}
        # Seeking is tried only where every frame has its own timestamp to match it by.
        self._seekable = None not in self._index_of_pts and len(self._index_of_pts) == self.num_frames
        self._cursor: tuple[_Decoder, Iterator[Any], int] | None = None
        self._cache: tuple[int, _GopFrames] | None = None

    def _check_size(self, frame: Any, index: int) -> None:
        if (frame.width, frame.height) != (self.width, self.height):
            raise UnsupportedCodecError(
                f"{self.path}: frame {index}: the frame size changes from {self.width}x{self.height} "
                f"to {frame.width}x{frame.height}"
            )

    def __del__(self) -> None:
        self.close()

    def close(self) -> None:
        """Close the decoder kept open for reading GOPs in order (reopened when needed)."""
        cursor, self._cursor = getattr(self, "_cursor", None), None
        if cursor is not None:
            cursor[0].close()

    # ---- finding and decoding frames ----

    def _frames_after_seek(self, first: int, last: int) -> _GopFrames | None:
        """Frames ``first..last`` after a seek to frame ``first``, or None if the container put
        the decoder anywhere but at or before it (matched by timestamp)."""
        decoder = _Decoder(self.path)
        out = _GopFrames()
        try:
            with ffmpeg_errors(self.path):
                decoder.container.seek(self._pts[first], stream=decoder.stream, backward=True)
            for frame in decoder.decode():
                index = self._index_of_pts.get(frame.pts)
                if index is None or index < first:
                    continue
                if index != first + len(out.types):
                    return None  # landed after the GOP's I-frame, or a frame is missing
                self._check_size(frame, index)
                out.add(frame)
                if index + 1 >= last:
                    return out
        finally:
            decoder.close()
        return None

    def _frames_in_order(self, first: int, last: int) -> Iterator[tuple[int, Any]]:
        """``(index, frame)`` for frames ``first..last``, decoding from the start of the file
        (or from where the previous call stopped, when that is not past ``first``)."""
        if self._cursor is None or self._cursor[2] > first:
            self.close()
            decoder = _Decoder(self.path)
            self._cursor = (decoder, decoder.decode(), 0)
        decoder, frames, index = self._cursor
        try:
            while index < last:
                frame = next(frames, None)
                if frame is None:
                    break
                index += 1
                self._cursor = (decoder, frames, index)
                if index - 1 >= first:
                    self._check_size(frame, index - 1)
                    yield index - 1, frame
        except BaseException:
            self.close()
            raise

    def _decode_gop(self, gop: int) -> _GopFrames:
        """FFmpeg's frames of one GOP (cached: the last GOP asked for)."""
        if self._cache is not None and self._cache[0] == gop:
            return self._cache[1]
        first = self.gop_starts[gop]
        last = first + self.gop_lengths[gop]
        out = self._frames_after_seek(first, last) if self._seekable and gop > 0 else None
        if out is None:
            if gop > 0:
                self._seekable = False  # this container does not honour seeks: decode in order
            out = _GopFrames()
            for _, frame in self._frames_in_order(first, last):
                out.add(frame)
        if len(out.types) != last - first:
            got, want = len(out.types), last - first
            raise CorruptStreamError(f"{self.path}: gop {gop}: FFmpeg gave {got} of its {want} frames")
        self._cache = (gop, out)
        return out

    # ---- the backend protocol ----

    def frames(self, start: int, end: int | None, idct: str | None, b_motion: str = "ffmpeg") -> Iterator[Frame]:
        if idct is not None:
            raise ValueError(f"{self.path}: idct applies to pkdkit's decoder; FFmpeg chooses its own (got {idct!r})")
        if b_motion != "ffmpeg":
            raise ValueError(f"{self.path}: b_motion={b_motion!r} needs pkdkit's decoder (FFmpeg has no B motion)")
        stop = self.num_frames if end is None else min(end, self.num_frames)
        decoder = _Decoder(self.path)
        try:
            for index, frame in enumerate(decoder.decode()):
                if index >= stop:
                    break
                if index >= start:
                    self._check_size(frame, index)
                    yield Frame(index, _letter(frame), _planes(frame), _vector_records(frame), 0)
        finally:
            decoder.close()

    def _needs_vectors(self, representation: str) -> None:
        if representation in ("mv", "residual") and not self.exports_vectors and self.frame_types.strip("I"):
            raise UnsupportedCodecError(
                f"{self.path}: FFmpeg exports no motion vectors for {self.codec}; only I-frames are available"
            )

    def represent_position(
        self, gop: int, pos: int, representation: str, *, accumulate: bool, bgr: bool, wide: bool
    ) -> np.ndarray:
        self._needs_vectors(representation)
        frames = self._decode_gop(gop)
        n = pos + 1
        return _core.position_from_frames(
            self.path,
            frames.types[:n],
            frames.planes[:n],
            frames.vectors[:n],
            pos,
            representation,
            accumulate=accumulate,
            bgr=bgr,
            wide=wide,
            first_index=self.gop_starts[gop],
        )

    def represent_gop(self, gop: int, *, accumulate: bool, bgr: bool) -> dict[str, np.ndarray]:
        self._needs_vectors("mv")
        frames = self._decode_gop(gop)
        return _core.gop_from_frames(
            self.path,
            frames.types,
            frames.planes,
            frames.vectors,
            accumulate=accumulate,
            bgr=bgr,
            first_index=self.gop_starts[gop],
        )

    def dct(self, gop: int, pos: int) -> Any:
        raise UnsupportedCodecError(
            f"{self.path}: DCT coefficients come from pkdkit's own MPEG-4 Part 2 decoder; this file is "
            f"read by FFmpeg ({self.codec}), which exports no coefficients"
        )

    def dct_gop(self, gop: int) -> Any:
        return self.dct(gop, 0)

    def dct_frames(self) -> Any:
        return self.dct(0, 0)
