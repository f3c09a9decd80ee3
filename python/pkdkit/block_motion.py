"""Block-grid motion: a frame's own (not accumulated) motion vectors as a dense grid, one vector
per 8x8 block (or per 16x16 macroblock, or per 4x4 block for codecs with such partitions), with
the reference direction and a validity mask.

The per-pixel maps of :meth:`pkdkit.CompressedVideo.motion_vectors` repeat each block's vector
over its 64 or 256 pixels; the grid holds the same information in 1/64 of the memory, and keeps
the sub-pixel part that the per-pixel map drops.

The grid is built from the vector records the decoder exports (FFmpeg's ``AVMotionVector``
fields, :data:`pkdkit.MOTION_VECTOR_DTYPE`): each record covers the ``w x h`` block centred on
``(dst_x, dst_y)``; ``source < 0`` is a forward vector (past reference), ``source > 0`` a backward
one (future reference, B-frames). Records are placed with numpy index arithmetic, not a loop.
B-frames carry FFmpeg's zero motion by default and their real vectors with ``b_motion="real"``
(forward, backward, and a direct macroblock's derived pair; see ``docs/representations.md``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["BlockMotion", "block_motion", "vectors_to_grid", "FORWARD", "BACKWARD", "MIXED", "GRIDS"]

#: ``direction`` bits: a forward (past-reference) vector covers the block.
FORWARD = 1
#: ``direction`` bits: a backward (future-reference) vector covers the block (B-frames).
BACKWARD = 2
#: ``direction`` bits: several vectors of one direction fall in the cell (a 4MV macroblock on the
#: 16 grid, 4x4 partitions on the 8 grid); the cell holds their area-weighted mean, rounded.
MIXED = 4
#: Allowed grid sizes in pixels.
GRIDS = (4, 8, 16)

_FIELDS = ("source", "w", "h", "dst_x", "dst_y", "motion_x", "motion_y", "motion_scale")


@dataclass(frozen=True, repr=False)
class BlockMotion:
    """The motion vectors of one frame on a block grid.

    The grid covers the coded picture, i.e. the frame padded to whole 16x16 macroblocks:
    ``rows = ceil(height / 16) * 16 // grid`` (same for columns). Vectors are in the codec's
    convention and units: the prediction of a block is read in the reference picture at the
    block's position plus ``motion / scale`` pixels (``scale`` 2 for half-pel MPEG-4, 4 for
    quarter-pel). CoViAR's per-pixel vector ``dst - src`` is ``-motion / scale`` truncated.

    Attributes:
        motion: ``(rows, cols, 2)`` int16 forward vectors ``(x, y)``; 0 where there is none.
        backward: ``(rows, cols, 2)`` int16 backward vectors (B-frames); 0 where there is none.
        direction: ``(rows, cols)`` uint8 bit set of :data:`FORWARD`, :data:`BACKWARD` and
            :data:`MIXED`; 0 for intra blocks and I-frames (no vector).
        scale: vector units per pixel.
        grid: block size in pixels (4, 8 or 16).
        frame_type: the frame's picture type (``"I"``, ``"P"``, ``"B"``, ``"S"``).
    """

    motion: np.ndarray
    backward: np.ndarray
    direction: np.ndarray
    scale: int
    grid: int
    frame_type: str

    @property
    def valid(self) -> np.ndarray:
        """``(rows, cols)`` bool: the block has a vector (is inter-predicted)."""
        return (self.direction & (FORWARD | BACKWARD)) != 0

    def pixels(self) -> np.ndarray:
        """The forward vectors in pixels, ``(rows, cols, 2)`` float32."""
        return self.motion.astype(np.float32) / self.scale

    def __repr__(self) -> str:
        rows, cols = self.direction.shape
        return (
            f"BlockMotion({self.frame_type}, {rows}x{cols} blocks of {self.grid}x{self.grid}, "
            f"{int(self.valid.sum())} with a vector, scale={self.scale})"
        )


def _columns(records: np.ndarray) -> dict[str, np.ndarray]:
    """int64 columns of a structured record array (pkdkit's or PyAV's, whose extra ``flags``
    field is ignored) or of an ``(N, 10)`` array in :data:`pkdkit.MOTION_VECTOR_DTYPE` order."""
    if records.dtype.names is not None:
        missing = [name for name in _FIELDS if name not in records.dtype.names]
        if missing:
            raise ValueError(f"motion vector records lack the field(s) {', '.join(missing)}")
        return {name: records[name].astype(np.int64) for name in _FIELDS}
    from ._frames import MOTION_VECTOR_DTYPE

    order = MOTION_VECTOR_DTYPE.names
    if records.ndim != 2 or records.shape[1] != len(order):
        raise ValueError(f"motion vector records: expected structured or (N, {len(order)}), not {records.shape}")
    return {name: records[:, order.index(name)].astype(np.int64) for name in _FIELDS}


def vectors_to_grid(
    records: np.ndarray, width: int, height: int, grid: int = 8, frame_type: str = "P", where: str = "frame"
) -> BlockMotion:
    """Place one frame's motion-vector records on a block grid.

    Args:
        records: the frame's vectors: ``Frame.motion_vectors``, PyAV's ``MOTION_VECTORS`` side
            data ``to_ndarray()``, or an ``(N, 10)`` int array in ``MOTION_VECTOR_DTYPE`` order.
        width, height: the frame size in pixels.
        grid: block size of the grid, 4, 8 or 16 pixels.
        frame_type: recorded in the result.
        where: names the frame in error messages (file and frame index).

    Returns:
        The grid; a cell covered by one vector per direction holds it exactly.

    Raises:
        ValueError: ``grid`` is not 4, 8 or 16, or a record lies outside the coded picture or off
            the block raster (a damaged or foreign record array).
    """
    if grid not in GRIDS:
        raise ValueError(f"grid {grid}: must be one of {', '.join(map(str, GRIDS))}")
    rows, cols = -(-height // 16) * 16 // grid, -(-width // 16) * 16 // grid
    motion = np.zeros((2, rows, cols, 2), np.int16)
    direction = np.zeros((rows, cols), np.uint8)
    if len(records) == 0:
        return BlockMotion(motion[0], motion[1], direction, 2, grid, frame_type)
    col = _columns(np.asarray(records))
    w, h = col["w"], col["h"]
    x0, y0 = col["dst_x"] - w // 2, col["dst_y"] - h // 2  # dst is the block centre
    # A block smaller than the grid lands inside one cell; a larger one spans several whole cells.
    step_x, step_y = np.minimum(w, grid), np.minimum(h, grid)
    bad = (w <= 0) | (h <= 0) | (x0 < 0) | (y0 < 0) | (x0 + w > cols * grid) | (y0 + h > rows * grid)
    bad |= (x0 % step_x != 0) | (y0 % step_y != 0) | (w % step_x != 0) | (h % step_y != 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{where}: motion vector {i} ({w[i]}x{h[i]} block at x={x0[i]}, y={y0[i]}) is not a block "
            f"of the {cols * grid}x{rows * grid} coded picture"
        )
    scales = col["motion_scale"]
    if (scales <= 0).any():
        raise ValueError(f"{where}: a motion vector has motion_scale {int(scales.min())}")
    scale = int(np.lcm.reduce(scales))  # one unit for all (records of one frame share it in practice)
    mx, my = col["motion_x"] * (scale // scales), col["motion_y"] * (scale // scales)

    # Expand every record to the cells it covers: record i covers span_x[i] * span_y[i] cells.
    span_x, span_y = w // step_x, h // step_y
    cells = span_x * span_y
    rec = np.repeat(np.arange(len(w)), cells)
    k = np.arange(len(rec)) - np.repeat(np.cumsum(cells) - cells, cells)
    r = y0[rec] // grid + k // span_x[rec]
    c = x0[rec] // grid + k % span_x[rec]
    backward = (col["source"][rec] > 0).astype(np.int64)
    flat = (backward * rows + r) * cols + c
    # Area-weighted sums per (direction, cell); float64 holds these integers exactly.
    weight = (step_x * step_y)[rec].astype(np.float64)
    size = 2 * rows * cols
    count = np.bincount(flat, minlength=size).reshape(2, rows, cols)
    total = np.bincount(flat, weights=weight, minlength=size).reshape(2, rows, cols)
    with np.errstate(invalid="ignore", divide="ignore"):
        for axis, values in enumerate((mx, my)):
            sums = np.bincount(flat, weights=weight * values[rec], minlength=size).reshape(2, rows, cols)
            mean = np.where(count > 0, sums / total, 0.0)
            # One vector: exact. Several: round half away from zero.
            motion[..., axis] = (np.sign(mean) * np.floor(np.abs(mean) + 0.5)).astype(np.int16)
    direction |= np.where(count[0] > 0, FORWARD, 0).astype(np.uint8)
    direction |= np.where(count[1] > 0, BACKWARD, 0).astype(np.uint8)
    direction |= np.where((count > 1).any(axis=0), MIXED, 0).astype(np.uint8)
    return BlockMotion(motion[0], motion[1], direction, scale, grid, frame_type)


def _records(video: Any, gop: int, pos: int, b_motion: str) -> np.ndarray:
    """The vector records of frame ``pos`` of GOP ``gop`` from the video's backend: pkdkit's
    decoder (B-frames as ``b_motion`` says), or FFmpeg's export (through PyAV) for what pkdkit
    does not decode."""
    from ._pyav import FFmpegBackend

    backend = video._backend
    if isinstance(backend, FFmpegBackend):
        if b_motion != "ffmpeg":
            raise ValueError(f"{video.path}: b_motion={b_motion!r} needs pkdkit's decoder (FFmpeg has no B motion)")
        if video.frame_types[video.gop_starts[gop] + pos] != "I":
            backend._needs_vectors("mv")
        return backend._decode_gop(gop).vectors[pos]
    index = video.gop_starts[gop] + pos
    return next(iter(video.frames(index, index + 1, b_motion=b_motion))).motion_vectors


def block_motion(video_or_path: Any, gop: int, pos: int, grid: int = 8, b_motion: str = "ffmpeg") -> BlockMotion:
    """The raw (not accumulated) motion vectors of one frame as a block grid.

    Args:
        video_or_path: a video from :func:`pkdkit.open`, or a path to open.
        gop: GOP index (an I-frame and the frames up to the next one).
        pos: position in the GOP (0 = the I-frame, whose grid has no vectors).
        grid: 8 for one vector per 8x8 block, 16 for one per macroblock (a 4MV macroblock gets
            the rounded mean of its four vectors, marked :data:`MIXED`), 4 for codecs with 4x4
            partitions (H.264 through the FFmpeg fallback).
        b_motion: B-frame vectors: ``"ffmpeg"`` (FFmpeg's export, the directions with zero
            motion) or ``"real"`` (the vectors the B-frame is predicted with: forward, backward,
            both for interpolated and direct macroblocks; pkdkit's decoder only). P-frames are
            the same either way.

    Returns:
        A :class:`BlockMotion`: ``motion`` ``(rows, cols, 2)`` int16 forward vectors,
        ``backward`` the same for backward ones, ``direction`` ``(rows, cols)`` uint8 bits
        (``valid`` = has a vector), in 1/``scale`` pixel units.

    Raises:
        pkdkit.VideoIndexError: ``gop`` or ``pos`` out of range.
        pkdkit.UnsupportedCodecError: a codec whose decoder exports no vectors (HEVC, VP9, ...).
        ValueError: ``grid`` is not 4, 8 or 16, ``b_motion`` is not ``"ffmpeg"`` or ``"real"``, or
            ``"real"`` for a file FFmpeg reads.
    """
    if grid not in GRIDS:
        raise ValueError(f"grid {grid}: must be one of {', '.join(map(str, GRIDS))}")
    if b_motion not in ("ffmpeg", "real"):
        raise ValueError(f"b_motion must be 'ffmpeg' or 'real', not {b_motion!r}")
    if isinstance(video_or_path, (str, os.PathLike)):
        from .video import open as open_video

        video = open_video(video_or_path)
    else:
        video = video_or_path
    video._check(gop, pos)
    gop, pos = int(gop), int(pos)
    index = video.gop_starts[gop] + pos
    return vectors_to_grid(
        _records(video, gop, pos, b_motion),
        video.width,
        video.height,
        grid,
        frame_type=video.frame_types[index],
        where=f"{video.path}: frame {index}",
    )
