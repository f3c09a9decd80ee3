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
   As in CoViAR, crops are resized as uint8 pictures (step 1's clip-and-truncate part,
   :func:`quantize`, first), bilinearly with half-pixel centres and no antialiasing (torch's
   uint8 ``interpolate``, like OpenCV's ``INTER_LINEAR`` that CoViAR uses); only the crops are
   converted, and the affine part of step 1 runs last, on the network-sized result.
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
    "center_crop_offset",
    "ten_crop_offsets",
    "crop_resize",
    "negate_flipped_mv",
    "train_pictures",
    "eval_pictures",
    "to_network_input",
    "normalize_batch",
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


def _check_raw(raw: torch.Tensor, modality: str) -> None:
    _check_modality(modality)
    if raw.shape[-1] != CHANNELS[modality]:
        raise ValueError(f"{modality}: expected {CHANNELS[modality]} channels last, got shape {tuple(raw.shape)}")
    if modality == "iframe" and raw.dtype != torch.uint8:
        raise ValueError(f"iframe: expected uint8 pixels, got {raw.dtype}")


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
    return _quantized(raw, modality)


def _quantized_float(raw: torch.Tensor, modality: str) -> torch.Tensor:
    """:func:`quantize` as float32."""
    return _quantized(raw, modality).to(torch.float32)


# Motion that saturates CoViAR's MV picture: floor(v * 6.375 + 128) is 0 at v <= -20 and 255 at
# v >= 20, so clamping to [-20, 20] first changes nothing, keeps the products in int16 and the
# results in [0, 255] (no clamp after).
_MV_SATURATE = 20


def _quantized(raw: torch.Tensor, modality: str) -> torch.Tensor:
    """:func:`quantize` in integer arithmetic, on the tensor's own device.

    Exact: 127.5 / 20 = 51 / 8, so ``floor(v * 6.375 + 128) = (51 v + 1024) >> 3`` (an
    arithmetic shift floors negative values too).
    """
    _check_raw(raw, modality)
    if modality == "iframe":
        return raw
    x = raw.clamp(-_MV_SATURATE, _MV_SATURATE) if modality == "mv" else raw.clamp(-128, 127)
    if x.dtype not in (torch.int16, torch.int32, torch.int64):
        x = x.to(torch.int16)  # int8 or uint8 would overflow below
    if modality == "mv":
        x.mul_(51).add_(1024).bitwise_right_shift_(3)
    else:
        x.add_(128)
    return x.to(torch.uint8)  # every value is in [0, 255] here


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


def _resize(images: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(N, h, w, C) uint8 -> (N, C, height, width) uint8, bilinear with half-pixel centres and no
    antialiasing (OpenCV's ``INTER_LINEAR`` on uint8, which CoViAR uses); a no-op at the same size.

    On the CPU this is torch's fixed-point uint8 kernel; elsewhere (see :func:`_resize_float`) the
    same interpolation in float32, which can differ from it by a level or two."""
    planar = images.permute(0, 3, 1, 2)  # a view: channels-last memory, torch's fast uint8 path
    if planar.shape[-2:] == (height, width):
        return planar
    if planar.device.type != "cpu":
        return _resize_float(planar, height, width)
    return F.interpolate(planar, size=(height, width), mode="bilinear", align_corners=False, antialias=False)


def _resize_float(planar: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """:func:`_resize` in float32 for devices whose bilinear kernel takes no uint8 (CUDA's).

    Like torch's CPU uint8 kernel, it resizes the width, rounds to levels, then the height; that
    kernel's weights are fixed-point (about 15 bits), so the two still differ by a level or two
    in a small fraction of pixels (tests/test_transforms_batched.py bounds it)."""
    x = planar.to(torch.float32)
    x = F.interpolate(x, size=(x.shape[-2], width), mode="bilinear", align_corners=False).round_().clamp_(0, 255)
    x = F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False).round_().clamp_(0, 255)
    return x.to(torch.uint8)


def crop_resize(
    raw: torch.Tensor,
    modality: str,
    boxes: np.ndarray,
    size: int,
    flip: np.ndarray | None = None,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """Quantise each clip's box, resize it to ``size x size``, and mirror the flipped clips.

    Pixel values are not otherwise changed (see :func:`negate_flipped_mv` for the MV sign). Only
    the boxes are quantised (in integers), so the full frames are never converted; the work runs
    on ``raw``'s device.

    Args:
        raw: (B, T, H, W, C) raw representations.
        modality: ``"iframe"``, ``"mv"`` or ``"residual"``.
        boxes: (B, 4) integer boxes ``(x0, y0, w, h)``.
        size: output side.
        flip: (B,) bool, clips to mirror left-right.
        out: where to write the result (e.g. a batch in shared memory), default a new tensor.

    Returns:
        (B, T, C, size, size) uint8: CoViAR's uint8 pictures of the crops.
    """
    _check_raw(raw, modality)
    b, t, _, _, c = raw.shape
    if out is None:
        out = torch.empty(b, t, c, size, size, dtype=torch.uint8, device=raw.device)
    elif out.shape != (b, t, c, size, size) or out.dtype != torch.uint8:
        want = (b, t, c, size, size)
        raise ValueError(f"{modality}: out must be {want} uint8, got {tuple(out.shape)} {out.dtype}")
    for i, (x0, y0, w, h) in enumerate(np.asarray(boxes, np.int64).reshape(b, 4).tolist()):
        resized = _resize(_quantized(raw[i, :, y0 : y0 + h, x0 : x0 + w], modality), size, size)
        if flip is None or not flip[i]:
            out[i] = resized
        elif out.device.type == "cpu":
            np.copyto(out[i].numpy(), resized.numpy()[..., ::-1])  # mirrored in the one copy
        else:
            out[i] = resized.flip(-1)
    return out


def _to_input(pictures: torch.Tensor, modality: str) -> torch.Tensor:
    """uint8 (..., C, S, S) pictures -> float32 network input (the affine part of normalisation).
    (Converting first then scaling in place measured faster than letting the multiplication
    promote the uint8.)"""
    return _apply_affine(pictures.to(torch.float32), modality)


def to_network_input(
    pictures: torch.Tensor,
    modality: str,
    flipped: torch.Tensor | np.ndarray | None = None,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """The float half of the transforms: uint8 pictures to the network input, where they lie.

    ``to_network_input(*train_pictures(raw, ...), modality)`` equals ``train_transform(raw, ...)``
    bit for bit, on any device (the same float32 multiply, add and negation).

    Args:
        pictures: (B, ..., C, S, S) uint8 from :func:`train_pictures` or :func:`eval_pictures`.
        modality: ``"iframe"``, ``"mv"`` or ``"residual"``.
        flipped: (B,) bool, the mirrored clips (their MV x component is negated); ignored for the
            other modalities.
        out: a float32 tensor of ``pictures``' shape to write into (e.g. a batch in shared
            memory), default a new one.

    Returns:
        float32 of ``pictures``' shape, on ``pictures``' device (``out`` when given).
    """
    _check_modality(modality)
    if pictures.dtype != torch.uint8:
        raise ValueError(f"{modality}: expected uint8 pictures, got {pictures.dtype}")
    if out is None:
        out = _to_input(pictures, modality)
    elif out.shape != pictures.shape or out.dtype != torch.float32:
        raise ValueError(f"{modality}: out must be {tuple(pictures.shape)} float32, got {tuple(out.shape)} {out.dtype}")
    else:
        _apply_affine(out.copy_(pictures), modality)  # the same exact conversion, then the same affine
    if modality != "mv" or flipped is None:
        return out
    if tuple(flipped.shape) != tuple(out.shape[:1]):
        raise ValueError(f"mv: {tuple(flipped.shape)} flip flags for {out.shape[0]} clips")
    if isinstance(flipped, np.ndarray) and not flipped.any():
        return out  # nothing mirrored (a test batch): no pass over the MVs
    flipped = torch.as_tensor(flipped, dtype=torch.bool, device=out.device)
    x = out[:, ..., 0, :, :]
    # A select, not a boolean index: no host synchronisation on a GPU, and -v is exact.
    x.copy_(torch.where(flipped.view(-1, *[1] * (x.dim() - 1)), -x, x))
    return out


# Keys of a fused batch that normalize_batch turns into network input.
PICTURE_KEYS = tuple(CHANNELS)
FLIP_KEY = "mv_flipped"


def normalize_batch(batch: dict, device: torch.device | str | None = None, non_blocking: bool = True) -> dict:
    """A fused batch of uint8 pictures (``FusedDataset(output="uint8")``) as network input.

    Moves every tensor to ``device`` (when given) first, so the uint8 pictures travel (a quarter of
    the float32 bytes) and the normalisation runs there: on the training GPU when there is one.
    Entries that are already float (``output="float32"``) pass unchanged; the ``mv_flipped`` flags
    are used up.

    Returns:
        A new dict: ``iframe``, ``mv``, ``residual`` float32 as :func:`train_transform` makes them,
        and every other entry (``label``) as it was (moved).
    """
    moved = {
        k: v.to(device, non_blocking=non_blocking) if device is not None and isinstance(v, torch.Tensor) else v
        for k, v in batch.items()
    }
    flipped = moved.pop(FLIP_KEY, None)
    for key in PICTURE_KEYS:
        value = moved.get(key)
        if isinstance(value, torch.Tensor) and value.dtype == torch.uint8:
            moved[key] = to_network_input(value, key, flipped if key == "mv" else None)
    return moved


def center_crop_offset(scale_size: int, size: int) -> int:
    """Top-left offset of the centre crop, as torchvision's ``CenterCrop`` rounds it."""
    return int(round((scale_size - size) / 2))


def ten_crop_offsets(scale_size: int, size: int) -> list[tuple[int, int]]:
    """(x, y) of the five test crops of a ``scale_size`` square: four corners, then the centre."""
    step = (scale_size - size) // 4
    return [(0, 0), (4 * step, 0), (0, 4 * step), (4 * step, 4 * step), (2 * step, 2 * step)]


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
    mirror: bool = True,
) -> torch.Tensor:
    """Training input: multi-scale crop, random flip (MV x negated), normalisation.

    Args:
        raw: (B, T, H, W, C) raw representations (see :func:`quantize`).
        modality: ``"iframe"``, ``"mv"`` or ``"residual"``.
        rng: random source of crops and flips, or one per clip (a dataset's per-sample seeds).
        size: output side.
        scales: crop scales (default :data:`TRAIN_SCALES` of the modality).
        mirror: flip half of the clips. Turn it off when mirroring changes the class (e.g.
            "move left" vs "move right"); the random draws stay the same, so the crops do too.

    Returns:
        (B, T, C, size, size) float32: ``to_network_input(*train_pictures(...), modality)``.
    """
    pictures, flip = train_pictures(raw, modality, rng, size, scales, mirror)
    return to_network_input(pictures, modality, flip)


def train_pictures(
    raw: torch.Tensor,
    modality: str,
    rng: np.random.Generator | Sequence[np.random.Generator],
    size: int = 224,
    scales: tuple[float, ...] | None = None,
    mirror: bool = True,
    out: torch.Tensor | None = None,
) -> tuple[torch.Tensor, np.ndarray]:
    """The integer half of :func:`train_transform` (same arguments, same draws; ``out`` as
    :func:`crop_resize`'s).

    Returns:
        (B, T, C, size, size) uint8 pictures (mirrored clips already mirrored) and the (B,) bool
        flip flags that :func:`to_network_input` needs to negate the mirrored MVs.
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
    if not mirror:
        flip[:] = False
    return crop_resize(raw, modality, boxes, size, flip, out), flip


def _scaled(raw: torch.Tensor, modality: str, scale_size: int) -> torch.Tensor:
    """(B, T, H, W, C) raw -> (B, T, C, S, S) uint8 pictures resized to a square (GroupScale)."""
    b, t, h, w, c = raw.shape
    pictures = _resize(quantize(raw, modality).reshape(b * t, h, w, c), scale_size, scale_size)
    return pictures.reshape(b, t, c, scale_size, scale_size)


def eval_transform(raw: torch.Tensor, modality: str, size: int = 224, scale_size: int | None = None) -> torch.Tensor:
    """Test input: resize to a ``scale_size`` square, centre crop ``size``, normalise.

    Args:
        raw: (B, T, H, W, C) raw representations.
        modality: ``"iframe"``, ``"mv"`` or ``"residual"``.
        size: output side.
        scale_size: side of the square resize (default ``size * 256 // 224``).

    Returns:
        (B, T, C, size, size) float32.
    """
    return _to_input(eval_pictures(raw, modality, size, scale_size), modality)


def eval_pictures(raw: torch.Tensor, modality: str, size: int = 224, scale_size: int | None = None) -> torch.Tensor:
    """The integer half of :func:`eval_transform`: (B, T, C, size, size) uint8 (a view)."""
    scale_size = scale_size or size * 256 // 224
    off = center_crop_offset(scale_size, size)
    return _scaled(raw, modality, scale_size)[..., off : off + size, off : off + size]


def ten_crop_transform(
    raw: torch.Tensor, modality: str, size: int = 224, scale_size: int | None = None
) -> torch.Tensor:
    """Test-time ten crops: five crops of the ``scale_size`` square, then the same five flipped.

    Returns:
        (B, 10, T, C, size, size) float32; views 5-9 mirror views 0-4 (MV x negated).
    """
    scale_size = scale_size or size * 256 // 224
    scaled = _scaled(raw, modality, scale_size)
    views = [scaled[..., y : y + size, x : x + size] for x, y in ten_crop_offsets(scale_size, size)]
    views += [v.flip(-1) for v in views]
    out = _to_input(torch.stack(views, dim=1), modality)
    if modality == "mv":
        out[:, 5:, :, 0] = -out[:, 5:, :, 0]
    return out
