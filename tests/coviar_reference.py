"""A numpy reference of CoViAR's representations on FFmpeg's own decode: the tests' oracle.

Written from the rules of CoViAR's loader (see ``shared/reference/paper.md`` section 7), pixel by
pixel where the order matters and independent of pkdkit's Rust code:

- a vector with non-zero displacement ``d = dst - src`` covers the pixels of its ``w x h`` block,
  column offsets ``-(w / 2) .. w / 2 - 1`` around ``dst_x`` (C's truncating division) and likewise
  for rows; a pixel takes part when both ``dst + offset`` and ``src + offset`` are inside the frame;
- vectors apply in export order, so a later one overwrites an earlier one;
- accumulated: ``accu[p] = accu_prev[p - d]`` for the pixels a frame's vectors move, identity at the
  I-frame; the motion vectors are ``p - accu[p]`` and the residual ``frame[p] - I[accu[p]]``;
- non-accumulated: the same with ``accu_prev`` the identity and the reference the previous frame.

pkdkit's documented extension for B-frames is followed too: only past vectors (``source < 0``)
count, and a frame's reference ("anchor") is the latest non-B frame before it.

Frames and vectors come from FFmpeg through PyAV (one thread, ``flags2=+export_mvs``); colours
come from a ``to_rgb(y, u, v)`` function the caller passes (``pkdkit.yuv_to_rgb``), so residuals
can be compared exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import av
import numpy as np

# FFmpeg's AVPictureType values as PyAV reports them on decoded frames.
PICTURE_LETTERS = {1: "I", 2: "P", 3: "B", 4: "S", 5: "i", 6: "p", 7: "b"}
VECTOR_FIELDS = ("source", "w", "h", "src_x", "src_y", "dst_x", "dst_y", "motion_x", "motion_y", "motion_scale")

ToRgb = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


@dataclass
class Gop:
    """One GOP of FFmpeg's decode: picture letters, (Y, U, V) planes and vectors per frame."""

    types: str = ""
    planes: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    vectors: list[np.ndarray] = field(default_factory=list)  # (N, 10) int32, VECTOR_FIELDS order
    cache: dict = field(default_factory=dict, repr=False)  # maps already traced, per mode


def frame_planes(frame: av.VideoFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The Y, U, V planes of a yuv420p frame at their visible sizes (copies)."""
    out = []
    for plane in frame.planes:
        rows = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
        out.append(rows[:, : plane.width].copy())
    return out[0], out[1], out[2]


def frame_vectors(frame: av.VideoFrame) -> np.ndarray:
    """The frame's exported vectors as an (N, 10) int32 array (empty when there are none)."""
    side = frame.side_data.get("MOTION_VECTORS")
    if side is None:
        return np.zeros((0, len(VECTOR_FIELDS)), np.int32)
    rec = side.to_ndarray()
    return np.stack([rec[name].astype(np.int32) for name in VECTOR_FIELDS], axis=1)


def ffmpeg_gops(path: str | Path) -> list[Gop]:
    """FFmpeg's decode of ``path`` split into GOPs at its real I-frames (display order)."""
    gops: list[Gop] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "NONE"
        stream.codec_context.options = {"flags2": "+export_mvs"}
        for frame in container.decode(stream):
            letter = PICTURE_LETTERS.get(int(frame.pict_type), "?")
            if letter == "I" or not gops:
                gops.append(Gop())
            gop = gops[-1]
            gop.types += letter
            gop.planes.append(frame_planes(frame))
            gop.vectors.append(frame_vectors(frame))
    return gops


def _c_half(n: int) -> int:
    """``n / 2`` with C's truncation toward zero."""
    return int(n / 2)


def apply_vectors(previous: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """One step of the back-pointer map: ``accu[p] = previous[p - d]`` for every moved pixel.

    ``previous`` is (H, W, 2) int: (x, y) source per pixel. Returns a new map.
    """
    h, w = previous.shape[:2]
    accu = previous.copy()
    for source, bw, bh, src_x, src_y, dst_x, dst_y, *_ in vectors.tolist():
        if source >= 0 or (dst_x - src_x == 0 and dst_y - src_y == 0):
            continue
        xo = np.arange(-_c_half(bw), _c_half(bw))
        yo = np.arange(-_c_half(bh), _c_half(bh))
        ok_x = (dst_x + xo >= 0) & (dst_x + xo < w) & (src_x + xo >= 0) & (src_x + xo < w)
        ok_y = (dst_y + yo >= 0) & (dst_y + yo < h) & (src_y + yo >= 0) & (src_y + yo < h)
        xo, yo = xo[ok_x], yo[ok_y]
        if xo.size and yo.size:
            accu[np.ix_(dst_y + yo, dst_x + xo)] = previous[np.ix_(src_y + yo, src_x + xo)]
    return accu


def identity(h: int, w: int) -> np.ndarray:
    """(H, W, 2) map whose every pixel is its own source."""
    ys, xs = np.mgrid[0:h, 0:w]
    return np.stack([xs, ys], axis=-1).astype(np.int64)


def maps(gop: Gop, accumulate: bool) -> list[tuple[np.ndarray, int]]:
    """Per position: the back-pointer map and the position of the frame it points into.

    Accumulated maps point into the I-frame; non-accumulated ones into the frame's anchor.
    """
    h, w = gop.planes[0][0].shape
    out = [(identity(h, w), 0)]
    anchor_map, anchor = identity(h, w), 0
    for t in range(1, len(gop.types)):
        start = anchor_map if accumulate else identity(h, w)
        current = apply_vectors(start, gop.vectors[t])
        out.append((current, 0 if accumulate else anchor))
        if gop.types[t] != "B":
            anchor_map, anchor = current, t
    return out


def _maps_cached(gop: Gop, accumulate: bool) -> list[tuple[np.ndarray, int]]:
    key = ("maps", accumulate)
    if key not in gop.cache:
        gop.cache[key] = maps(gop, accumulate)
    return gop.cache[key]


def motion_vectors(gop: Gop, pos: int, accumulate: bool = True) -> np.ndarray:
    """CoViAR's (H, W, 2) int32 motion vectors at ``pos`` (zeros at the I-frame)."""
    h, w = gop.planes[0][0].shape
    if pos == 0:
        return np.zeros((h, w, 2), np.int32)
    accu, _ = _maps_cached(gop, accumulate)[pos]
    return (identity(h, w) - accu).astype(np.int32)


def residual(gop: Gop, pos: int, to_rgb: ToRgb, accumulate: bool = True) -> np.ndarray:
    """CoViAR's (H, W, 3) int32 residual at ``pos`` in ``to_rgb``'s colours (zeros at the I-frame)."""
    h, w = gop.planes[0][0].shape
    if pos == 0:
        return np.zeros((h, w, 3), np.int32)
    accu, ref = _maps_cached(gop, accumulate)[pos]
    current = to_rgb(*gop.planes[pos]).astype(np.int32)
    reference = to_rgb(*gop.planes[ref]).astype(np.int32)
    return current - reference[accu[..., 1], accu[..., 0]]
