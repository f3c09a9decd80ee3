"""CoViAR's representations as methods of a video: one implementation of the public API,
shared by pkdkit's own MPEG-4 Part 2 reader and the PyAV fallback for other codecs.

A GOP is an I-frame and the frames after it up to the next I-frame (the real I-frames,
scene-cut ones included; never a fixed 12). Position 0 is the I-frame. The arrays are handed
over by the Rust core without a copy.
"""

from __future__ import annotations

import abc
from typing import Any

import numpy as np

from .errors import UnsupportedCodecError, VideoIndexError

REPRESENTATIONS = ("iframe", "mv", "residual")


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


class RepresentationMethods(abc.ABC):
    """``iframe``, ``motion_vectors``, ``residual`` and ``decode_gop`` for a video class.

    The class provides ``path``, ``num_gops``, ``gop_starts``, ``gop_lengths``, ``frame_types``
    and two hooks that do the work: ``_represent_position(gop, pos, representation, accumulate,
    bgr, wide)`` and ``_represent_gop(gop, accumulate, bgr)``; arguments reach them already checked.
    """

    path: Any
    num_gops: int
    gop_starts: list[int]
    gop_lengths: list[int]
    frame_types: str

    def _check(self, gop: int, pos: int | None = None) -> None:
        gop, pos = int(gop), None if pos is None else int(pos)
        if not 0 <= gop < self.num_gops:
            raise out_of_range(self.path, "gop", gop, self.num_gops)
        if pos is not None and not 0 <= pos < self.gop_lengths[gop]:
            raise out_of_range(self.path, f"gop {gop}: position", pos, self.gop_lengths[gop])

    def iframe(self, gop: int, bgr: bool = False) -> np.ndarray:
        """The decoded I-frame that starts GOP ``gop``.

        Args:
            gop: GOP index, ``0 <= gop < num_gops``.
            bgr: channel order BGR (CoViAR's) instead of RGB.

        Returns:
            ``(H, W, 3)`` uint8, BT.601 limited-range conversion (``pkdkit.yuv_to_rgb``).

        Raises:
            VideoIndexError: ``gop`` out of range (also an ``IndexError``).
        """
        self._check(gop)
        return self._represent_position(int(gop), 0, "iframe", True, bool(bgr), False)

    def motion_vectors(self, gop: int, pos: int, accumulate: bool = True) -> np.ndarray:
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
        self._check(gop, pos)
        return self._represent_position(int(gop), int(pos), "mv", bool(accumulate), False, False)

    def residual(self, gop: int, pos: int, accumulate: bool = True, bgr: bool = False) -> np.ndarray:
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
        self._check(gop, pos)
        return self._represent_position(int(gop), int(pos), "residual", bool(accumulate), bool(bgr), False)

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
        self._check(gop)
        if b_frames not in ("keep", "skip"):
            raise ValueError(f"b_frames must be 'keep' or 'skip', got {b_frames!r}")
        start = self.gop_starts[int(gop)]
        types = self.frame_types[start : start + self.gop_lengths[int(gop)]]
        return [i for i, t in enumerate(types) if b_frames == "keep" or t != "B"]

    def decode_gop(
        self, gop: int, accumulate: bool = True, bgr: bool = False, b_frames: str = "keep"
    ) -> dict[str, np.ndarray]:
        """Every position of GOP ``gop`` at once, decoding it once.

        Args:
            gop: GOP index.
            accumulate: trace back to the I-frame (CoViAR's accumulation) or to the previous frame.
            bgr: residual channels in BGR order.
            b_frames: ``"keep"`` (every position) or ``"skip"`` (the P-chain: see
                :meth:`gop_positions`; the arrays are then copies, in chain order).

        Returns:
            ``{"iframe": (H, W, 3) uint8, "motion_vectors": (L, H, W, 2) int32,
            "residuals": (L, H, W, 3) int16}`` with ``L = gop_lengths[gop]`` (or the P-chain's
            length); position 0 of ``motion_vectors`` and ``residuals`` is all zeros.

        Raises:
            VideoIndexError: ``gop`` out of range.
        """
        positions = self.gop_positions(gop, b_frames)
        out = self._represent_gop(int(gop), bool(accumulate), bool(bgr))
        if b_frames == "skip" and len(positions) != self.gop_lengths[int(gop)]:
            out = {**out, "motion_vectors": out["motion_vectors"][positions], "residuals": out["residuals"][positions]}
        return out

    # Hooks a video class implements.
    @abc.abstractmethod
    def _represent_position(
        self, gop: int, pos: int, representation: str, accumulate: bool, bgr: bool, wide: bool
    ) -> np.ndarray:
        """One representation at one position."""

    @abc.abstractmethod
    def _represent_gop(self, gop: int, accumulate: bool, bgr: bool) -> dict[str, np.ndarray]:
        """Every position of one GOP (see :meth:`decode_gop`)."""


class NativeRepresentations(RepresentationMethods):
    """The representation methods for a video pkdkit decodes itself (``self._video`` is the
    ``pkdkit._core.Video``): each call decodes from the GOP's I-frame, GIL released.

    A stream the native decoder refuses (``UnsupportedCodecError``: B-VOPs, GMC, ...) is handed
    to FFmpeg (:mod:`pkdkit._pyav`) for its representations, with the same rules, instead of
    failing; FFmpeg is the reference pkdkit's decoder is tested against.
    """

    _video: Any

    def _ffmpeg(self) -> Any:
        fallback = getattr(self, "_ffmpeg_video", None)
        if fallback is None:
            from ._pyav import PyAVVideo

            fallback = self._ffmpeg_video = PyAVVideo(self.path)
        return fallback

    def _represent_position(
        self, gop: int, pos: int, representation: str, accumulate: bool, bgr: bool, wide: bool
    ) -> np.ndarray:
        from . import _core

        try:
            return _core.represent(
                self._video, gop, pos, representation, accumulate=accumulate, bgr=bgr, wide=wide
            )
        except UnsupportedCodecError:
            return self._ffmpeg()._represent_position(gop, pos, representation, accumulate, bgr, wide)

    def _represent_gop(self, gop: int, accumulate: bool, bgr: bool) -> dict[str, np.ndarray]:
        from . import _core

        try:
            return _core.represent_gop(self._video, gop, accumulate=accumulate, bgr=bgr)
        except UnsupportedCodecError:
            return self._ffmpeg()._represent_gop(gop, accumulate, bgr)
