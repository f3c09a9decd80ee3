"""CoViAR's augmentation and normalisation, vectorised over a batch in torch.

Raw representations (what :func:`pkdkit.load_batch` returns) come in as ``(B, T, H, W, C)``
tensors: ``B`` clips of ``T`` segments each. The pipeline is the one CoViAR and the PKD code use:

1. Normalisation per modality (:func:`normalize`), to ``(B, T, C, H, W)`` float32:
   - I-frame (RGB uint8): ``/255``, then ImageNet mean and std;
   - MV (pixels): ``v * 127.5 / 20 + 128``, clipped to [0, 255] and truncated as CoViAR's uint8
     cast does, then ``/255 - 0.5`` (so +-20 px saturates at about +-0.5);
   - residual: ``r + 128`` clipped to [0, 255], then ``(/255 - 0.5)`` divided by the ImageNet std.
2. Geometry, the same for all ``T`` segments of a clip (as TSN's group transforms):
   - training: multi-scale crop (TSN's corner/centre grid of crop positions, crop sides from
     ``scales`` times the short side, aspect distortion of at most one step) resized to
     ``size x size``, and a horizontal flip with probability 1/2;
   - test: resize to a ``scale_size`` square (256 for 224), centre crop ``size``;
   - test-time ten crops: the four corners and the centre of the ``scale_size`` square, each also
     flipped.
   Crops and resizes are one bilinear ``grid_sample`` per batch (half-pixel centres, no antialiasing,
   as OpenCV's ``INTER_LINEAR`` that CoViAR uses). The clip-and-truncate part of step 1
   (:func:`quantize`, CoViAR's uint8 picture) runs before it, the affine part after, on the
   smaller crop: an affine map commutes with bilinear resizing.
3. A flipped MV has its x component negated (CoViAR's ``255 - v`` before ``/255 - 0.5`` is exactly
   a negation after it).

Random choices are drawn from a ``numpy.random.Generator`` per clip, so a dataset seeded per
sample is deterministic whatever the worker that runs it.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "CHANNELS",
    "TRAIN_SCALES",
    "quantize",
    "normalize",
    "sample_multiscale_crops",
    "center_crop_boxes",
    "ten_crop_boxes",
    "crop_resize",
    "negate_flipped_mv",
    "train_transform",
    "eval_transform",
    "ten_crop_transform",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CHANNELS = {"iframe": 3, "mv": 2, "residual": 3}
# Multi-scale crop scales (fractions of the short side) per modality, as in CoViAR and PKD.
TRAIN_SCALES = {"iframe": (1.0, 0.875, 0.75, 0.66), "mv": (1.0, 0.875, 0.75), "residual": (1.0, 0.875, 0.75)}
MV_BOUND = 20.0  # pixels of motion mapped to the full uint8 range


def _check_modality(modality: str) -> None:
    if modality not in CHANNELS:
        raise ValueError(f"modality {modality!r}: expected one of {sorted(CHANNELS)}")


def quantize(raw: torch.Tensor, modality: str) -> torch.Tensor:
    """CoViAR's uint8 picture of a representation (before its division by 255).

    Args:
        raw: (..., H, W, C) tensor: uint8 RGB for ``iframe``; integer pixels (dx, dy) for ``mv``;
            integer RGB differences for ``residual``.
        modality: ``"iframe"``, ``"mv"`` or ``"residual"``.

    Returns:
        (..., H, W, C) uint8: the I-frame itself; ``floor(v * 127.5 / 20 + 128)`` clipped to
        [0, 255] for MV; ``r + 128`` clipped for the residual.
    """
    return _quantized_float(raw, modality).to(torch.uint8)


def _quantized_float(raw: torch.Tensor, modality: str) -> torch.Tensor:
    """:func:`quantize` as float32, in a few in-place passes.

    Exact: 127.5 / 20 = 51 / 8 is a binary fraction, so ``v * 6.375`` has no rounding for any
    motion below 2**18 pixels.
    """
    _check_modality(modality)
    if raw.shape[-1] != CHANNELS[modality]:
        raise ValueError(f"{modality}: expected {CHANNELS[modality]} channels last, got shape {tuple(raw.shape)}")
    if modality == "iframe" and raw.dtype != torch.uint8:
        raise ValueError(f"iframe: expected uint8 pixels, got {raw.dtype}")
    x = raw.to(torch.float32)
    if modality == "mv":
        x.mul_(127.5 / MV_BOUND).add_(128).floor_().clamp_(0, 255)
    elif modality == "residual":
        x.add_(128).clamp_(0, 255)
    return x


def _affine(modality: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(C,) scale and offset taking :func:`quantize`'s uint8 values to the network input."""
    std = torch.tensor(IMAGENET_STD)
    if modality == "iframe":
        return 1 / (255 * std), -torch.tensor(IMAGENET_MEAN) / std
    if modality == "mv":
        return torch.full((2,), 1 / 255), torch.full((2,), -0.5)
    return 1 / (255 * std), -0.5 / std


def _apply_affine(x: torch.Tensor, modality: str) -> torch.Tensor:
    """In place on a (..., C, H, W) float tensor; returns it."""
    scale, offset = _affine(modality)
    return x.mul_(scale.view(-1, 1, 1).to(x.device)).add_(offset.view(-1, 1, 1).to(x.device))


def normalize(raw: torch.Tensor, modality: str) -> torch.Tensor:
    """Raw representations to CoViAR's network input, channels first.

    I-frame: ``/255`` then ImageNet mean and std; MV: ``quantize / 255 - 0.5``; residual:
    ``(quantize / 255 - 0.5) / std``.

    Args:
        raw: (..., H, W, C) raw representation (see :func:`quantize`).
        modality: ``"iframe"``, ``"mv"`` or ``"residual"``.

    Returns:
        (..., C, H, W) float32.
    """
    return _apply_affine(_quantized_float(raw, modality).movedim(-1, -3).contiguous(), modality)


def _crop_sides(short: int, scales: tuple[float, ...], size: int) -> list[int]:
    # A crop within 3 px of the output size is taken at exactly that size (no needless resize).
    sides = [int(short * s) for s in scales]
    return [size if abs(side - size) < 3 else side for side in sides]


def _grid_offsets(width: int, height: int, crop_w: int, crop_h: int) -> list[tuple[int, int]]:
    """TSN's 13 crop positions: corners, centre, edge middles and the four quarter points."""
    sx, sy = (width - crop_w) // 4, (height - crop_h) // 4
    quarters = [(0, 0), (4, 0), (0, 4), (4, 4), (2, 2), (0, 2), (4, 2), (2, 4), (2, 0), (1, 1), (3, 1), (1, 3), (3, 3)]
    return [(qx * sx, qy * sy) for qx, qy in quarters]


def _quantized_view(raw: torch.Tensor, modality: str) -> torch.Tensor:
    """(B, T, H, W, C) raw -> (B, T, C, H, W) float32 view of the quantised picture.

    Quantise (nonlinear: clip, truncate) before resizing, as CoViAR does; the affine part of the
    normalisation commutes with bilinear resizing and runs afterwards on the smaller crop.
    """
    return _quantized_float(raw, modality).permute(0, 1, 4, 2, 3)


def sample_multiscale_crops(
    rng: np.random.Generator,
    batch: int,
    height: int,
    width: int,
    scales: tuple[float, ...],
    size: int,
    max_distort: int = 1,
) -> np.ndarray:
    """Random multi-scale crop boxes, one per clip.

    Args:
        rng: the random source.
        batch: number of clips.
        height: source frame height.
        width: source frame width.
        scales: crop sides as fractions of the short side.
        size: the output side the crops will be resized to.
        max_distort: largest index difference between the width and height scales.

    Returns:
        (batch, 4) int64 boxes ``(x0, y0, w, h)`` in source pixels.
    """
    sides = _crop_sides(min(height, width), scales, size)
    pairs = [(w, h) for i, h in enumerate(sides) for j, w in enumerate(sides) if abs(i - j) <= max_distort]
    boxes = np.empty((batch, 4), np.int64)
    for b in range(batch):
        w, h = pairs[rng.integers(len(pairs))]
        w, h = min(w, width), min(h, height)
        offsets = _grid_offsets(width, height, w, h)
        x0, y0 = offsets[rng.integers(len(offsets))]
        boxes[b] = (x0, y0, w, h)
    return boxes


def center_crop_boxes(batch: int, height: int, width: int, size: int, scale_size: int) -> np.ndarray:
    """Boxes equal to resizing to a ``scale_size`` square and cropping the centre ``size``.

    Returns:
        (batch, 4) float64 boxes ``(x0, y0, w, h)`` in source pixels.
    """
    fx, fy = width / scale_size, height / scale_size
    off = (scale_size - size) / 2
    return np.tile([off * fx, off * fy, size * fx, size * fy], (batch, 1))


def ten_crop_boxes(height: int, width: int, size: int, scale_size: int) -> np.ndarray:
    """The five crops (four corners, centre) of the ``scale_size`` square, in source pixels.

    Returns:
        (5, 4) float64 boxes ``(x0, y0, w, h)``.
    """
    fx, fy = width / scale_size, height / scale_size
    step = (scale_size - size) // 4
    corners = [(0, 0), (4 * step, 0), (0, 4 * step), (4 * step, 4 * step), (2 * step, 2 * step)]
    return np.array([[x * fx, y * fy, size * fx, size * fy] for x, y in corners])


def crop_resize(x: torch.Tensor, boxes: np.ndarray, size: int, flip: np.ndarray | None = None) -> torch.Tensor:
    """Crop each clip's box, resize it to ``size x size`` bilinearly, and mirror the flipped ones.

    Pixel values are not changed (see :func:`negate_flipped_mv` for the MV sign).

    Args:
        x: (B, T, C, H, W) float tensor (any strides; channels-last memory is fastest).
        boxes: (B, 4) boxes ``(x0, y0, w, h)`` in pixels of ``x``.
        size: output side.
        flip: (B,) bool, clips to mirror left-right.

    Returns:
        (B, T, C, size, size) float32, contiguous.
    """
    b, t, c, h, w = x.shape
    boxes = torch.as_tensor(np.asarray(boxes, np.float64), dtype=torch.float32)
    x0, y0, bw, bh = boxes.unbind(1)
    sign = torch.ones(b) if flip is None else 1 - 2 * torch.as_tensor(np.asarray(flip), dtype=torch.float32)
    # Output pixel centre u in [-1, 1] samples source x0 + (u + 1) * bw / 2 (align_corners=False);
    # the map is separable, so the grid is two broadcasts instead of affine_grid's matrix product.
    u = (torch.arange(size, dtype=torch.float32) * 2 + 1) / size - 1
    gx = (sign * bw / w)[:, None] * u + ((2 * x0 + bw) / w - 1)[:, None]  # (B, size) along x
    gy = (bh / h)[:, None] * u + ((2 * y0 + bh) / h - 1)[:, None]  # (B, size) along y
    grid = torch.empty(b, t, size, size, 2)
    grid[..., 0] = gx[:, None, None, :]
    grid[..., 1] = gy[:, None, :, None]
    images = x.reshape(b * t, c, h, w).contiguous(memory_format=torch.channels_last)
    out = F.grid_sample(
        images, grid.view(b * t, size, size, 2).to(x.device), mode="bilinear", padding_mode="border",
        align_corners=False,
    )
    return out.reshape(b, t, c, size, size).contiguous()


def negate_flipped_mv(x: torch.Tensor, flip: np.ndarray, modality: str) -> torch.Tensor:
    """Negate the x component of the flipped clips' normalised MVs (in place; returns ``x``)."""
    if modality == "mv" and np.any(flip):
        idx = torch.as_tensor(np.flatnonzero(flip), device=x.device)
        x[idx, :, 0] = -x[idx, :, 0]
    return x


def train_transform(
    raw: torch.Tensor,
    modality: str,
    rng: np.random.Generator | Sequence[np.random.Generator],
    size: int = 224,
    scales: tuple[float, ...] | None = None,
) -> torch.Tensor:
    """Training input: normalise, multi-scale crop, random flip (MV x negated).

    Args:
        raw: (B, T, H, W, C) raw representations (see :func:`normalize`).
        modality: ``"iframe"``, ``"mv"`` or ``"residual"``.
        rng: random source of crops and flips, or one per clip (a dataset's per-sample seeds).
        size: output side.
        scales: crop scales (default :data:`TRAIN_SCALES` of the modality).

    Returns:
        (B, T, C, size, size) float32.
    """
    b, _, h, w, _ = raw.shape
    scales = scales or TRAIN_SCALES[modality]
    if isinstance(rng, np.random.Generator):
        boxes = sample_multiscale_crops(rng, b, h, w, scales, size)
        flip = rng.random(b) < 0.5
    else:
        if len(rng) != b:
            raise ValueError(f"{len(rng)} random generators for {b} clips")
        boxes = np.concatenate([sample_multiscale_crops(r, 1, h, w, scales, size) for r in rng])
        flip = np.array([r.random() < 0.5 for r in rng])
    out = _apply_affine(crop_resize(_quantized_view(raw, modality), boxes, size, flip), modality)
    return negate_flipped_mv(out, flip, modality)


def eval_transform(raw: torch.Tensor, modality: str, size: int = 224, scale_size: int | None = None) -> torch.Tensor:
    """Test input: normalise, resize to a ``scale_size`` square, centre crop ``size``.

    Args:
        raw: (B, T, H, W, C) raw representations.
        modality: ``"iframe"``, ``"mv"`` or ``"residual"``.
        size: output side.
        scale_size: side of the square resize (default ``size * 256 // 224``).

    Returns:
        (B, T, C, size, size) float32.
    """
    b, _, h, w, _ = raw.shape
    boxes = center_crop_boxes(b, h, w, size, scale_size or size * 256 // 224)
    return _apply_affine(crop_resize(_quantized_view(raw, modality), boxes, size), modality)


def ten_crop_transform(
    raw: torch.Tensor, modality: str, size: int = 224, scale_size: int | None = None
) -> torch.Tensor:
    """Test-time ten crops: five crops of the ``scale_size`` square, then the same five flipped.

    Returns:
        (B, 10, T, C, size, size) float32; views 5-9 mirror views 0-4 (MV x negated).
    """
    b, _, h, w, _ = raw.shape
    x = _quantized_view(raw, modality)
    views = []
    for flip in (False, True):
        flips = np.full(b, flip)
        for box in ten_crop_boxes(h, w, size, scale_size or size * 256 // 224):
            view = _apply_affine(crop_resize(x, np.tile(box, (b, 1)), size, flips), modality)
            views.append(negate_flipped_mv(view, flips, modality))
    return torch.stack(views, dim=1)
