"""The native backend: pkdkit's own MPEG-4 Part 2 decoder (the Rust core), GIL released.

The Rust core decides at indexing time whether it decodes a stream (``_core.Video.unsupported``);
:func:`pkdkit.open` only builds this backend for streams it does, so nothing here falls back.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from . import _core
from ._frames import FrameStream
from .dct import DctFrame

__all__ = ["NativeBackend"]


class NativeBackend:
    """A :class:`pkdkit._representations.VideoBackend` over a ``pkdkit._core.Video``."""

    name = "native"

    def __init__(self, video: _core.Video) -> None:
        self.video = video
        self.path: str = video.path
        self.width: int = video.width
        self.height: int = video.height
        self.num_frames: int = video.num_frames
        self.frame_types: str = video.frame_types
        self.gop_starts: list[int] = video.gop_starts
        self.gop_lengths: list[int] = video.gop_lengths
        self.fps: float = video.fps
        self.codec: str = video.codec
        self.profile: str = video.profile
        self.container: str = video.container
        self.header: dict[str, int] = video.header

    def frames(self, start: int, end: int | None, idct: str | None, b_motion: str = "ffmpeg") -> FrameStream:
        return FrameStream(_core.frames(self.video, start, end, idct, b_motion=b_motion))

    def represent_position(
        self, gop: int, pos: int, representation: str, *, accumulate: bool, bgr: bool, wide: bool
    ) -> np.ndarray:
        return _core.represent(self.video, gop, pos, representation, accumulate=accumulate, bgr=bgr, wide=wide)

    def represent_gop(self, gop: int, *, accumulate: bool, bgr: bool) -> dict[str, np.ndarray]:
        return _core.represent_gop(self.video, gop, accumulate=accumulate, bgr=bgr)

    def represent_gop_real_b(self, gop: int, *, accumulate: bool, bgr: bool) -> dict[str, np.ndarray]:
        """:meth:`represent_gop` with the real B-frame vectors (``frames(b_motion="real")``) in
        place of FFmpeg's zero motion, through the same Rust kernels."""
        start, length = self.gop_starts[gop], self.gop_lengths[gop]
        frames = list(self.frames(start, start + length, None, b_motion="real"))
        names = [name for name, _, _ in _core.MOTION_VECTOR_FIELDS]
        vectors = [
            np.stack([f.motion_vectors[n].astype(np.int32) for n in names], axis=1).reshape(-1, len(names))
            for f in frames
        ]
        return _core.gop_from_frames(
            self.path,
            "".join(f.frame_type for f in frames),
            [f.yuv for f in frames],
            vectors,
            accumulate=accumulate,
            bgr=bgr,
            first_index=start,
        )

    def dct(self, gop: int, pos: int) -> DctFrame:
        return DctFrame(*_core.dct(self.video, gop, pos))

    def dct_gop(self, gop: int) -> list[DctFrame]:
        return [DctFrame(*frame) for frame in _core.dct_gop(self.video, gop)]

    def dct_frames(self) -> Iterator[DctFrame]:
        return (DctFrame(*frame) for frame in _core.dct_frames(self.video))
