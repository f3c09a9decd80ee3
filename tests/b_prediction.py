"""B-frame motion compensation in numpy, the oracle of the real B-frame vectors.

FFmpeg decoding with ``skip_idct=noref`` outputs B-frames without their residual, i.e. exactly
their motion-compensated prediction; :func:`predict_b_frame` rebuilds that prediction from FFmpeg's
decoded references and a B-frame's vector records (half-sample streams), so the two can be
compared sample for sample. Used by ``test_b_motion.py`` (the exported records) and
``test_block_motion.py`` (the block grid built from them).
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from ffmpeg_oracle import PICT_TYPES, planes_of

# Table 7-9 of ISO/IEC 14496-2: a sixteenth-sample position -> half samples (4MV chroma).
SIXTEENTH_TO_HALF = np.array([0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2])


def predictions_from_ffmpeg(path: Path) -> list[tuple[str, list[np.ndarray]]]:
    """Every frame FFmpeg outputs with B-frame residuals skipped: (type letter, planes)."""
    with av.open(str(path), format="m4v") as container:
        stream = container.streams.video[0]
        stream.thread_type = "NONE"
        stream.codec_context.options = {"skip_idct": "noref"}
        return [(PICT_TYPES[int(f.pict_type)], planes_of(f)) for f in container.decode(stream)]


def half_sample_block(ref: np.ndarray, x: int, y: int, mx: int, my: int, size: int) -> np.ndarray:
    """``size`` x ``size`` samples at (x, y) + (mx, my) half samples, bilinear with B-frame
    rounding (rounding control 0), edges replicated."""
    pad = 64 + max(abs(mx), abs(my))
    p = np.pad(ref.astype(np.int32), pad, mode="edge")
    ix, iy = x + (mx >> 1) + pad, y + (my >> 1) + pad
    a = p[iy : iy + size + 1, ix : ix + size + 1]
    s00, s01, s10, s11 = a[:size, :size], a[:size, 1:], a[1:, :size], a[1:, 1:]
    if mx & 1 and my & 1:
        return (s00 + s01 + s10 + s11 + 2) >> 2
    if mx & 1:
        return (s00 + s01 + 1) >> 1
    if my & 1:
        return (s00 + s10 + 1) >> 1
    return s00


def chroma_of_16x16(m: int) -> int:
    """Chroma vector (half chroma samples) of a half-sample luma vector: m/4 chroma samples,
    quarter positions moved to the half position (7.6.2)."""
    return 2 * (m >> 2) + int(m & 3 != 0)


def chroma_of_four(total: int) -> int:
    """Chroma vector of four 8x8 luma vectors summing to ``total`` half samples (Table 7-9)."""
    mag = abs(total)
    c = 2 * (mag >> 4) + int(SIXTEENTH_TO_HALF[mag & 15])
    return c if total >= 0 else -c


def predict_direction(refs: list[np.ndarray], entries: np.ndarray, mb_x: int, mb_y: int) -> list[np.ndarray]:
    """Y (16x16), U, V (8x8) prediction of one macroblock from one reference and its entries."""
    y, cx, cy = np.zeros((16, 16), np.int32), mb_x * 8, mb_y * 8
    if len(entries) == 1:
        (e,) = entries
        assert (e["w"], e["h"]) == (16, 16)
        mx, my = int(e["motion_x"]), int(e["motion_y"])
        y = half_sample_block(refs[0], mb_x * 16, mb_y * 16, mx, my, 16)
        umx, umy = chroma_of_16x16(mx), chroma_of_16x16(my)
    else:
        assert len(entries) == 4 and (entries["w"] == 8).all()
        for e in entries:
            bx, by = int(e["dst_x"]) - 4, int(e["dst_y"]) - 4
            block = half_sample_block(refs[0], bx, by, int(e["motion_x"]), int(e["motion_y"]), 8)
            y[by - mb_y * 16 : by - mb_y * 16 + 8, bx - mb_x * 16 : bx - mb_x * 16 + 8] = block
        umx = chroma_of_four(int(entries["motion_x"].sum()))
        umy = chroma_of_four(int(entries["motion_y"].sum()))
    u = half_sample_block(refs[1], cx, cy, umx, umy, 8)
    v = half_sample_block(refs[2], cx, cy, umx, umy, 8)
    return [y, u, v]


def predict_b_frame(vectors: np.ndarray, past: list[np.ndarray], future: list[np.ndarray]) -> list[np.ndarray]:
    """The whole B-frame predicted from its exported vectors: per macroblock the forward
    prediction, the backward one, or their average ``(f + b + 1) >> 1``."""
    h, w = past[0].shape
    out = [np.zeros((h, w), np.int32), np.zeros((h // 2, w // 2), np.int32), np.zeros((h // 2, w // 2), np.int32)]
    mb_count = (w // 16) * (h // 16)
    mb_of = (vectors["dst_x"] // 16).astype(int) + (w // 16) * (vectors["dst_y"] // 16).astype(int)
    assert sorted(set(mb_of.tolist())) == list(range(mb_count)), "every macroblock has entries"
    for mb in range(mb_count):
        mb_x, mb_y = mb % (w // 16), mb // (w // 16)
        mine = vectors[mb_of == mb]
        fwd, bwd = mine[mine["source"] == -1], mine[mine["source"] == 1]
        preds = [predict_direction(past, fwd, mb_x, mb_y)] if len(fwd) else []
        preds += [predict_direction(future, bwd, mb_x, mb_y)] if len(bwd) else []
        assert preds, f"macroblock {mb} has no prediction"
        pred = preds[0] if len(preds) == 1 else [(a + b + 1) >> 1 for a, b in zip(*preds)]
        for plane, block, s in zip(out, pred, (16, 8, 8)):
            plane[mb_y * s : mb_y * s + s, mb_x * s : mb_x * s + s] = block
    return out


def references(types: str, k: int) -> tuple[int, int]:
    """Display indices of the I/P-frames before and after B-frame ``k``."""
    past = max(i for i in range(k) if types[i] != "B")
    future = min(i for i in range(k + 1, len(types)) if types[i] != "B")
    return past, future
