"""DCT coefficients: what the inverse DCT of pkdkit's decoder receives, for every 8x8 block.

:meth:`pkdkit.CompressedVideo.dct` returns a :class:`DctFrame`; ``load_batch(..., "dct")`` stacks
many frames as ``(N, rows, cols, 192)`` (:data:`BATCH_CHANNELS`); :func:`normalize` and
:func:`dct_transform` make network input of them (``modality="dct"`` in :mod:`pkdkit.data`).
The decoder stops before the IDCT: no pixel and no motion compensation is computed, and a frame's
coefficients come from its own VOP (plus its future reference's vectors for a B-frame).
See ``docs/representations.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # torch only for the network transforms
    import torch

__all__ = [
    "DctFrame",
    "NOT_CODED",
    "INTRA",
    "INTER",
    "CONCEALED",
    "BATCH_CHANNELS",
    "LOG_SCALE",
    "normalize",
    "flip_blocks",
    "dct_transform",
]

#: Block type: no texture (skipped macroblock or coded-block-pattern bit clear): all zeros.
NOT_CODED = 0
#: Block type: intra block; its coefficients transform the block's samples.
INTRA = 1
#: Block type: inter block with texture; its coefficients transform the prediction error.
INTER = 2
#: Block type: lost to a bitstream error and concealed: all zeros.
CONCEALED = 3
#: Values per block position of ``load_batch(..., "dct")``: 64 Y, 64 Cb, 64 Cr coefficients.
BATCH_CHANNELS = 192
#: :func:`normalize` divides ``log1p(|c|)`` by this: ``|c| = 2048`` (the IDCT's input range) maps to 1.
LOG_SCALE = math.log1p(2048.0)


@dataclass(frozen=True, repr=False)
class DctFrame:
    """The DCT coefficients of one frame, on the block grid of the macroblock-aligned picture.

    Coefficient and level arrays are ``(block rows, block cols, 8, 8)`` int16 in natural order:
    ``y[r, c, v, u]`` is vertical frequency ``v``, horizontal frequency ``u`` of the block whose
    top-left sample is ``(8 * c, 8 * r)``. Y has ``2 * mb_rows x 2 * mb_cols`` blocks, U and V
    ``mb_rows x mb_cols``. The values are exactly what the decoder's IDCT receives (16-bit, as
    FFmpeg stores them); an intra block's DC is 8 times its mean sample.

    Attributes:
        frame_type: ``"I"``, ``"P"`` or ``"B"``.
        y, u, v: dequantised coefficients.
        y_levels, u_levels, v_levels: the quantised levels they come from (intra: the DC level at
            ``[0, 0]``, AC prediction added).
        block_types: ``(mb_rows, mb_cols, 6)`` uint8, the type (:data:`NOT_CODED`, :data:`INTRA`,
            :data:`INTER`, :data:`CONCEALED`) of blocks Y0, Y1, Y2, Y3 (raster order inside the
            macroblock), Cb, Cr of each macroblock; :meth:`plane_types` per plane.
        qscale: ``(mb_rows, mb_cols)`` uint8, each macroblock's quantiser (1..31).
        field_dct: ``(mb_rows, mb_cols)`` bool, the macroblock (interlaced video) was coded with
            field DCT: its four luma blocks are field blocks, not frame blocks. ``y[2 r, 2 c]``
            and ``y[2 r, 2 c + 1]`` transform the left and right 8 columns of the top field
            (lines ``16 r, 16 r + 2, ..., 16 r + 14``), ``y[2 r + 1, 2 c]`` and
            ``y[2 r + 1, 2 c + 1]`` those of the bottom field (lines ``16 r + 1, ..., 16 r + 15``);
            :meth:`luma_samples` puts them back in frame lines. Chroma blocks are always frame
            blocks. All False for progressive video.
    """

    frame_type: str
    y: np.ndarray
    u: np.ndarray
    v: np.ndarray
    y_levels: np.ndarray
    u_levels: np.ndarray
    v_levels: np.ndarray
    block_types: np.ndarray
    qscale: np.ndarray
    field_dct: np.ndarray

    def plane_types(self, plane: str) -> np.ndarray:
        """The block types of ``plane`` (``"y"``, ``"u"`` or ``"v"``) on its block grid:
        ``(rows, cols)`` uint8, aligned with the plane's coefficient array."""
        if plane == "y":
            rows, cols = self.block_types.shape[:2]
            luma = self.block_types[..., :4].reshape(rows, cols, 2, 2)
            return luma.transpose(0, 2, 1, 3).reshape(2 * rows, 2 * cols)
        if plane in ("u", "v"):
            return self.block_types[..., 4 if plane == "u" else 5]
        raise ValueError(f"plane must be 'y', 'u' or 'v', got {plane!r}")

    def luma_samples(self, blocks: np.ndarray) -> np.ndarray:
        """Place per-block luma samples on the picture in frame lines.

        Args:
            blocks: ``(rows, cols, 8, 8)`` samples of the Y blocks (e.g. an inverse DCT of
                :attr:`y`), in the coefficients' block layout.

        Returns:
            ``(8 * rows, 8 * cols)``: block ``[r, c]`` at ``(8 r, 8 c)``, except that the field
            blocks of :attr:`field_dct` macroblocks are interleaved back into their field lines.
        """
        rows, cols = blocks.shape[:2]
        picture = blocks.transpose(0, 2, 1, 3).reshape(rows * 8, cols * 8)
        mbs = picture.reshape(rows // 2, 16, cols // 2, 16).transpose(0, 2, 1, 3).copy()  # per macroblock
        fields = mbs[self.field_dct]  # (k, 16, 16): top field rows 0..7, bottom field rows 8..15
        woven = np.empty_like(fields)
        woven[:, 0::2], woven[:, 1::2] = fields[:, :8], fields[:, 8:]
        mbs[self.field_dct] = woven
        return mbs.transpose(0, 2, 1, 3).reshape(rows * 8, cols * 8)

    def packed(self) -> np.ndarray:
        """``(rows, cols, 192)`` int16: what ``load_batch(..., "dct")`` returns for this frame."""
        rows, cols = self.y.shape[:2]
        chroma = [np.repeat(np.repeat(p, 2, axis=0), 2, axis=1).reshape(rows, cols, 64) for p in (self.u, self.v)]
        return np.concatenate([self.y.reshape(rows, cols, 64), *chroma], axis=-1)

    def __repr__(self) -> str:
        rows, cols = self.y.shape[:2]
        counts = np.bincount(self.block_types.ravel(), minlength=4)
        return (
            f"DctFrame({self.frame_type}, {rows}x{cols} luma blocks, {counts[INTRA]} intra, "
            f"{counts[INTER]} inter-coded, {counts[NOT_CODED]} not coded, {counts[CONCEALED]} concealed)"
        )


def normalize(coefficients: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
    """Signed log-magnitude, the network input of ``modality="dct"``: ``sign(c) * log1p(|c|) / log1p(2048)``.

    The same for every frequency and block type, fixed (no dataset statistics): coefficients span
    four orders of magnitude (an intra DC near 1024, high frequencies of inter blocks at a few
    units), and the logarithm keeps the small ones visible. Zero stays zero; ``|c| = 2048``, the
    end of the IDCT's input range, maps to 1.

    Args:
        coefficients: integer coefficients (numpy or torch).

    Returns:
        float32 of the same shape (numpy in, numpy out; torch in, torch out).
    """
    if isinstance(coefficients, np.ndarray):
        x = coefficients.astype(np.float32)
        return (np.sign(x) * np.log1p(np.abs(x)) / np.float32(LOG_SCALE)).astype(np.float32)
    import torch

    x = coefficients.to(torch.float32)
    return x.sign() * x.abs().log1p() / LOG_SCALE


def flip_blocks(x: torch.Tensor) -> torch.Tensor:
    """Mirror ``(..., 192, rows, cols)`` packed coefficients left-right, exactly.

    Mirroring an 8x8 block negates its odd horizontal frequencies (``u`` odd); the block columns
    are reversed.
    """
    import torch

    sign = torch.ones(BATCH_CHANNELS, dtype=x.dtype, device=x.device)
    sign[(torch.arange(BATCH_CHANNELS) % 8) % 2 == 1] = -1
    return x.flip(-1) * sign.view(-1, 1, 1)


def dct_transform(
    raw: torch.Tensor, rngs: list[np.random.Generator] | None, crop_size: int, *, mirror: bool = True
) -> torch.Tensor:
    """``(B, T, rows, cols, 192)`` packed coefficients to ``(B, T, 192, S, S)`` network input.

    Crops work on whole blocks (``S = crop_size // 8``): resizing would mix blocks. Training
    (``rngs`` given, one generator per clip): a random ``S x S`` window and, with ``mirror``, an
    exact left-right flip (:func:`flip_blocks`) with probability 1/2, the same for the clip's
    ``T`` segments. Evaluation (``rngs`` None): the centre window. A grid smaller than ``S`` is
    zero-padded (zero is "no texture"). Values go through :func:`normalize`.
    """
    import torch

    b, t, rows, cols, c = raw.shape
    if c != BATCH_CHANNELS:
        raise ValueError(f"dct: expected {BATCH_CHANNELS} channels last, got shape {tuple(raw.shape)}")
    s = max(int(crop_size) // 8, 1)
    x = normalize(raw).movedim(-1, 2)  # (B, T, 192, rows, cols)
    pad_r, pad_c = max(s - rows, 0), max(s - cols, 0)
    if pad_r or pad_c:
        x = torch.nn.functional.pad(x, (pad_c // 2, pad_c - pad_c // 2, pad_r // 2, pad_r - pad_r // 2))
        rows, cols = x.shape[-2:]
    out = torch.empty((b, t, c, s, s), dtype=torch.float32)
    for i in range(b):
        if rngs is None:
            r0, c0, flip = (rows - s) // 2, (cols - s) // 2, False
        else:
            rng = rngs[i]
            r0, c0 = int(rng.integers(0, rows - s + 1)), int(rng.integers(0, cols - s + 1))
            flip = bool(mirror and rng.random() < 0.5)
        window = x[i, :, :, r0 : r0 + s, c0 : c0 + s]
        out[i] = flip_blocks(window) if flip else window
    return out
