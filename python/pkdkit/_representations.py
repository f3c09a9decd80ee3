"""What a video backend provides, and the argument checks shared by every backend.

:class:`pkdkit.CompressedVideo` is one facade over a backend chosen once, at :func:`pkdkit.open`:
pkdkit's own MPEG-4 Part 2 decoder (:mod:`pkdkit._native`) or FFmpeg through PyAV
(:mod:`pkdkit._pyav`). A backend gives the metadata, decoded frames, and CoViAR's
representations of one GOP or one position; the facade checks every argument before it asks.

A GOP is an I-frame and the frames after it up to the next I-frame (the real I-frames,
scene-cut ones included; never a fixed 12). Position 0 is the I-frame.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator, Protocol

import numpy as np

from ._frames import Frame
from .errors import VideoIndexError
from .vocabulary import MODALITIES

if TYPE_CHECKING:
    from .dct import DctFrame

__all__ = ["REPRESENTATIONS", "VideoBackend", "check_representation", "out_of_range"]

REPRESENTATIONS = MODALITIES


def check_representation(representation: str) -> str:
    """``representation`` if it is one of ``"iframe"``, ``"mv"``, ``"residual"``, else ValueError."""
    if representation not in REPRESENTATIONS:
        raise ValueError(
            f"representation must be one of {', '.join(map(repr, REPRESENTATIONS))}, got {representation!r}"
        )
    return representation


def out_of_range(path: Any, what: str, index: int, count: int) -> VideoIndexError:
    """The error for ``index`` outside ``0..count``, worded like the Rust core's."""
    if count == 0:
        return VideoIndexError(f"{path}: {what} {index} out of range: there are none")
    return VideoIndexError(f"{path}: {what} {index} out of range: valid values are 0..={count - 1}")


class VideoBackend(Protocol):
    """One way of reading a video file. Arguments reach the methods already checked.

    Attributes:
        name: ``"native"`` (pkdkit's decoder) or ``"ffmpeg"`` (PyAV).
        path: the file as given to :func:`pkdkit.open`.
    """

    name: str
    path: str
    width: int
    height: int
    num_frames: int
    frame_types: str
    gop_starts: list[int]
    gop_lengths: list[int]
    fps: float
    codec: str
    profile: str
    container: str
    header: dict[str, int]

    def frames(self, start: int, end: int | None, idct: str | None, b_motion: str = "ffmpeg") -> Iterator[Frame]:
        """Decoded frames ``start..end`` in display order (``b_motion``: see ``CompressedVideo.frames``)."""
        ...

    def represent_position(
        self, gop: int, pos: int, representation: str, *, accumulate: bool, bgr: bool, wide: bool
    ) -> np.ndarray:
        """One representation (``"iframe"``, ``"mv"``, ``"residual"`` or ``"frame"``) at one position;
        ``wide``: int32 residuals (CoViAR's) instead of int16."""
        ...

    def represent_gop(self, gop: int, *, accumulate: bool, bgr: bool) -> dict[str, np.ndarray]:
        """Every position of one GOP: ``{"iframe", "motion_vectors", "residuals"}``."""
        ...

    def dct(self, gop: int, pos: int) -> DctFrame:
        """The DCT coefficients of one position (no pixels decoded)."""
        ...

    def dct_gop(self, gop: int) -> list[DctFrame]:
        """The DCT coefficients of every position of one GOP, its VOPs decoded once."""
        ...

    def dct_frames(self) -> Iterator[DctFrame]:
        """The DCT coefficients of every frame in display order, the video decoded once."""
        ...
