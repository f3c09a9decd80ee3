"""Type stubs for the Rust extension module ``pkdkit._core`` (rust/src/python/)."""

from typing import final

import numpy as np

__all__ = [
    "CorruptStreamError",
    "DctStream",
    "FrameStream",
    "LimitExceededError",
    "MOTION_VECTOR_FIELDS",
    "MOTION_VECTOR_RECORD_SIZE",
    "NotAVideoError",
    "UnsupportedCodecError",
    "Video",
    "VideoError",
    "VideoIndexError",
    "__version__",
    "dct",
    "dct_batch",
    "dct_frames",
    "dct_gop",
    "frames",
    "gop_from_frames",
    "load_batch",
    "load_batches",
    "open",
    "position_from_frames",
    "prediction",
    "represent",
    "represent_gop",
    "yuv_to_rgb",
]

__version__: str

# errors: pkdkit's exception classes (re-exported by pkdkit.errors)
class VideoError(Exception): ...
class NotAVideoError(VideoError): ...
class UnsupportedCodecError(VideoError): ...
class CorruptStreamError(VideoError): ...
class LimitExceededError(VideoError): ...
class VideoIndexError(VideoError, IndexError): ...

# colour: repr::colour
def yuv_to_rgb(y: np.ndarray, u: np.ndarray, v: np.ndarray, bgr: bool = False) -> np.ndarray: ...

# video: video::Video
@final
class Video:
    """A parsed video: container, VOL header and frame index (wrapped by pkdkit.CompressedVideo)."""

    @property
    def path(self) -> str: ...
    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...
    @property
    def num_frames(self) -> int: ...
    @property
    def frame_types(self) -> str: ...
    @property
    def gop_starts(self) -> list[int]: ...
    @property
    def gop_lengths(self) -> list[int]: ...
    @property
    def fps(self) -> float: ...
    @property
    def codec(self) -> str: ...
    @property
    def profile(self) -> str: ...
    @property
    def container(self) -> str: ...
    @property
    def fourcc(self) -> str | None: ...
    @property
    def header(self) -> dict[str, int]: ...
    @property
    def unsupported(self) -> str | None: ...

def open(path: str) -> Video: ...

# frames: frames::FrameIter (decoding) and the motion-vector record layout
MOTION_VECTOR_FIELDS: list[tuple[str, str, int]]
MOTION_VECTOR_RECORD_SIZE: int

@final
class FrameStream:
    """Streaming decoder; each step yields (index, frame_type, y, u, v, mv_bytes, damaged_mbs)."""

    def __iter__(self) -> FrameStream: ...
    def __next__(
        self,
    ) -> tuple[int, str, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]: ...
    @property
    def pictures_held(self) -> int: ...

def frames(
    video: Video, start: int = 0, end: int | None = None, idct: str | None = None, *, b_motion: str = "ffmpeg"
) -> FrameStream: ...

# representations: repr (CoViAR's representations). Residuals are int16 unless wide=True (int32).
def represent(
    video: Video, gop: int, position: int, representation_name: str,
    accumulate: bool = True, bgr: bool = False, wide: bool = False,
) -> np.ndarray: ...
def represent_gop(video: Video, gop: int, accumulate: bool = True, bgr: bool = False) -> dict[str, np.ndarray]: ...
def load_batch(
    paths: list[str], gops: list[int], positions: list[int], representation_name: str,
    accumulate: bool = True, bgr: bool = False, threads: int = 0,
) -> np.ndarray: ...
def load_batches(
    paths: list[str], gops: list[int], positions: list[int], representation_names: list[str],
    accumulate: bool = True, bgr: bool = False, threads: int = 0,
) -> tuple[np.ndarray, ...]: ...
def gop_from_frames(
    path: str, types: str, planes: list[tuple[np.ndarray, np.ndarray, np.ndarray]], vectors: list[np.ndarray],
    accumulate: bool = True, bgr: bool = False, first_index: int = 0,
) -> dict[str, np.ndarray]: ...
def position_from_frames(
    path: str, types: str, planes: list[tuple[np.ndarray, np.ndarray, np.ndarray]], vectors: list[np.ndarray],
    position: int, representation_name: str, accumulate: bool = True, bgr: bool = False,
    wide: bool = False, first_index: int = 0,
) -> np.ndarray: ...

# DCT coefficients (rust/src/python/dct.rs)
def dct(
    video: Video, gop: int, position: int
) -> tuple[
    str, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray
]:
    """(frame_type, y, u, v, y_levels, u_levels, v_levels, block_types, qscale, field_dct): int16 (rows, cols, 8, 8)
    coefficients/levels per plane, uint8 (mb_rows, mb_cols, 6) block types, uint8 (mb_rows, mb_cols) qscale,
    bool (mb_rows, mb_cols) field-DCT macroblocks (their luma blocks are field blocks)."""
    ...
def dct_gop(
    video: Video, gop: int
) -> list[
    tuple[
        str, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray
    ]
]:
    """The ``dct`` tuple of every frame of GOP ``gop`` in display order, its VOPs decoded once."""
    ...
@final
class DctStream:
    """Iterator over every frame's ``dct`` tuple in display order, the video decoded once."""

    def __iter__(self) -> DctStream: ...
    def __next__(
        self,
    ) -> tuple[
        str, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray
    ]: ...

def dct_frames(video: Video) -> DctStream:
    """Every frame's ``dct`` tuple in display order (a ``DctStream``)."""
    ...
def dct_batch(paths: list[str], gops: list[int], positions: list[int], threads: int = 0) -> np.ndarray:
    """(N, rows, cols, 192) int16: per luma block its Y coefficients, then those of the Cb and Cr blocks covering it."""
    ...
def prediction(video: Video, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Y, U, V of display frame ``index`` without the texture of its inter blocks (their prediction)."""
    ...
