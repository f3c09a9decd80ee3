"""Fallback for codecs pkdkit does not decode itself (H.264, HEVC, MPEG-2, ...), what
``pkdkit.open(path, fallback=True)`` returns for them: FFmpeg decodes through PyAV, and its
frames and exported motion vectors go through the same Rust kernels as pkdkit's own decoder, so
the representations follow the same rules.

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

The file is indexed once at open (a full decode recording picture types and timestamps); each
GOP is then decoded from the nearest key frame before it (a seek), and the last GOP is cached.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from . import _core
from ._representations import RepresentationMethods
from .errors import CorruptStreamError, NotAVideoError, UnsupportedCodecError

# FFmpeg's AVPictureType values as PyAV reports them; SI/SP/BI count as I/P/B.
_PICTURE_LETTERS = {1: "I", 2: "P", 3: "B", 4: "S", 5: "I", 6: "P", 7: "B"}
_VECTOR_FIELDS = ("source", "w", "h", "src_x", "src_y", "dst_x", "dst_y", "motion_x", "motion_y", "motion_scale")


@dataclass
class _GopFrames:
    """One decoded GOP: picture letters, (Y, U, V) planes and (N, 10) int32 vectors per frame."""

    types: str = ""
    planes: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    vectors: list[np.ndarray] = field(default_factory=list)


def _planes(frame: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if frame.format.name != "yuv420p":
        frame = frame.reformat(format="yuv420p")
    out = []
    for plane in frame.planes:
        rows = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
        out.append(rows[:, : plane.width])
    return out[0], out[1], out[2]


def _vectors(frame: Any) -> np.ndarray | None:
    side = frame.side_data.get("MOTION_VECTORS")
    if side is None:
        return None
    rec = side.to_ndarray()
    return np.stack([rec[name].astype(np.int32) for name in _VECTOR_FIELDS], axis=1).reshape(-1, 10)


def _letter(frame: Any) -> str:
    return _PICTURE_LETTERS.get(int(frame.pict_type), "P")


class PyAVVideo(RepresentationMethods):
    """A video read through FFmpeg (PyAV), with pkdkit's representation API.

    Attributes:
        path: the file.
        codec: FFmpeg's codec name (``"h264"``, ``"hevc"``, ...).
        width, height: frame size in pixels.
        num_frames: decoded frames.
        frame_types: one letter per frame in display order (``"IPPB..."``).
        gop_starts: display index of each I-frame; ``num_gops``, ``gop_lengths`` follow.
        fps: frames per second (0.0 when the container does not say).
        exports_vectors: whether FFmpeg exported motion vectors for this codec.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise FileNotFoundError(f"{self.path}: no such file")
        import av  # PyAV is only needed by the fallback

        self._av = av
        self._pts: list[int | None] = []
        letters = []
        self.exports_vectors = False
        try:
            with av.open(str(self.path)) as container:
                if not container.streams.video:
                    raise NotAVideoError(f"{self.path}: no video stream")
                stream = container.streams.video[0]
                stream.thread_type = "NONE"
                stream.codec_context.options = {"flags2": "+export_mvs"}
                self.codec = stream.codec_context.name
                # Reported like the native reader's fields, marked as FFmpeg's reading of the file.
                self.container = f"{container.format.name} (via FFmpeg)"
                self.profile = stream.codec_context.profile or "unknown profile"
                rate = stream.average_rate or stream.base_rate
                self.fps = float(Fraction(rate)) if rate else 0.0
                for frame in container.decode(stream):
                    letters.append(_letter(frame))
                    self._pts.append(frame.pts)
                    if letters[-1] != "I" and frame.side_data.get("MOTION_VECTORS") is not None:
                        self.exports_vectors = True
                    self.width, self.height = frame.width, frame.height
        except av.error.FFmpegError as err:
            raise CorruptStreamError(f"{self.path}: FFmpeg cannot decode it: {err}") from err
        if not letters:
            raise NotAVideoError(f"{self.path}: no decodable video frames")
        if letters[0] != "I":
            # Frames before the first I-frame cannot be traced back to one; they form GOP 0
            # only if FFmpeg calls the first frame I, so refuse instead of guessing.
            raise UnsupportedCodecError(f"{self.path}: the first frame is not an I-frame ({letters[0]})")
        self.frame_types = "".join(letters)
        self.num_frames = len(letters)
        self.gop_starts = [i for i, t in enumerate(letters) if t == "I"]
        self.num_gops = len(self.gop_starts)
        ends = self.gop_starts[1:] + [self.num_frames]
        self.gop_lengths = [e - s for s, e in zip(self.gop_starts, ends)]
        self._index_of_pts = {p: i for i, p in enumerate(self._pts)}
        self._seekable = None not in self._index_of_pts and len(self._index_of_pts) == self.num_frames
        self._cache: tuple[int, _GopFrames] | None = None

    def __repr__(self) -> str:
        return (
            f"PyAVVideo({str(self.path)!r}, codec={self.codec!r}, {self.width}x{self.height}, "
            f"num_frames={self.num_frames}, num_gops={self.num_gops})"
        )

    def __len__(self) -> int:
        return self.num_frames

    def _decode_gop(self, gop: int) -> _GopFrames:
        """FFmpeg's frames of one GOP (cached: the last GOP asked for)."""
        if self._cache is not None and self._cache[0] == gop:
            return self._cache[1]
        first = self.gop_starts[gop]
        last = first + self.gop_lengths[gop]
        out = _GopFrames()
        with self._av.open(str(self.path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "NONE"
            stream.codec_context.options = {"flags2": "+export_mvs"}
            index = 0
            if self._seekable and gop > 0:
                # Lands on the key frame at or before the GOP's I-frame; frames are matched by pts.
                container.seek(self._pts[first], stream=stream, backward=True)
                index = None
            for frame in container.decode(stream):
                if index is None:
                    if frame.pts not in self._index_of_pts:
                        continue
                    index = self._index_of_pts[frame.pts]
                if first <= index < last:
                    out.types += _letter(frame)
                    out.planes.append(tuple(p.copy() for p in _planes(frame)))
                    vectors = _vectors(frame)
                    out.vectors.append(np.zeros((0, 10), np.int32) if vectors is None else vectors)
                index += 1
                if index >= last:
                    break
        if len(out.types) != last - first:
            raise CorruptStreamError(
                f"{self.path}: gop {gop}: FFmpeg gave {len(out.types)} of its {last - first} frames"
            )
        self._cache = (gop, out)
        return out

    def _needs_vectors(self, representation: str) -> None:
        if representation in ("mv", "residual") and not self.exports_vectors and self.frame_types.strip("I"):
            raise UnsupportedCodecError(
                f"{self.path}: FFmpeg exports no motion vectors for {self.codec}; "
                "only I-frames are available"
            )

    def _represent_position(
        self, gop: int, pos: int, representation: str, accumulate: bool, bgr: bool, wide: bool
    ) -> np.ndarray:
        self._needs_vectors(representation)
        frames = self._decode_gop(gop)
        n = pos + 1
        return _core.position_from_frames(
            str(self.path),
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

    def _represent_gop(self, gop: int, accumulate: bool, bgr: bool) -> dict[str, np.ndarray]:
        self._needs_vectors("mv")
        frames = self._decode_gop(gop)
        return _core.gop_from_frames(
            str(self.path),
            frames.types,
            frames.planes,
            frames.vectors,
            accumulate=accumulate,
            bgr=bgr,
            first_index=self.gop_starts[gop],
        )


def open_fallback(path: str | Path, error: Exception) -> PyAVVideo:
    """What ``pkdkit.open`` does when the Rust reader refuses ``path`` with ``error``.

    Returns a :class:`PyAVVideo` when FFmpeg reads the file as video in another codec than
    MPEG-4 Part 2; re-raises ``error`` when FFmpeg cannot open it or finds MPEG-4 Part 2 (a
    stream pkdkit refused for a reason of its own, which the user should see).
    """
    import av

    try:
        with av.open(str(path)) as container:
            streams = container.streams.video
            codec = streams[0].codec_context.name if streams else None
    except (av.error.FFmpegError, UnicodeDecodeError):
        raise error from None
    if codec is None or codec == "mpeg4":
        raise error
    return PyAVVideo(path)
