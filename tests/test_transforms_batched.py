"""The torch transforms against a per-frame reference written the plain way, on random inputs.

The reference quantises each crop in float numpy with CoViAR's formulas, resizes one frame at a
time with torch's CPU uint8 bilinear kernel (the definition the transforms keep: OpenCV's
``INTER_LINEAR`` on uint8 pictures), mirrors, and applies the affine part per channel. The
transforms quantise in integers, crop and resize whole clips and normalise the batch at once;
every step is exact integer or identical float arithmetic, so the results must be equal bit for
bit, for every modality, in training (with and without mirroring), at test and with ten crops.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from pkdkit.data import transforms as T

MODALITIES = ("iframe", "mv", "residual")


def reference_quantize(raw: np.ndarray, modality: str) -> np.ndarray:
    """CoViAR's uint8 picture, in float64 numpy."""
    x = raw.astype(np.float64)
    if modality == "mv":
        x = np.floor(x * 127.5 / 20 + 128)
    elif modality == "residual":
        x = x + 128
    return np.clip(x, 0, 255).astype(np.uint8)


def reference_resize(picture: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(h, w, C) uint8 -> (C, H, W) uint8, one frame at a time."""
    planar = torch.from_numpy(np.ascontiguousarray(picture)).permute(2, 0, 1)[None]
    if planar.shape[-2:] == size:
        return planar[0].numpy()
    return F.interpolate(planar, size=size, mode="bilinear", align_corners=False, antialias=False)[0].numpy()


def reference_input(picture: np.ndarray, modality: str, flipped: bool) -> np.ndarray:
    """(C, S, S) uint8 -> network input, the affine part channel by channel in float32."""
    out = np.empty(picture.shape, np.float32)
    # The constants in float32 arithmetic, as CoViAR's torch transforms compute them.
    std, mean = torch.tensor(T.IMAGENET_STD), torch.tensor(T.IMAGENET_MEAN)
    for c in range(picture.shape[0]):
        x = torch.from_numpy(picture[c].astype(np.float32))
        if modality == "iframe":
            scale, offset = 1 / (255 * std[c]), -mean[c] / std[c]
        elif modality == "mv":
            scale, offset = torch.tensor(1 / 255, dtype=torch.float32), torch.tensor(-0.5)
        else:
            scale, offset = 1 / (255 * std[c]), -0.5 / std[c]
        y = x * scale + offset
        out[c] = (-y if modality == "mv" and c == 0 and flipped else y).numpy()
    return out


def random_raw(rng: np.random.Generator, modality: str, shape: tuple[int, ...]) -> torch.Tensor:
    """Raw representations as load_batch returns them, with values past the saturation points."""
    if modality == "iframe":
        return torch.from_numpy(rng.integers(0, 256, (*shape, 3), dtype=np.uint8))
    if modality == "mv":
        mv = rng.integers(-60, 61, (*shape, 2)).astype(np.int32)
        mv.flat[:4] = (np.iinfo(np.int32).min, np.iinfo(np.int32).max, -20, 21)
        return torch.from_numpy(mv)
    return torch.from_numpy(rng.integers(-300, 301, (*shape, 3)).astype(np.int16))


@pytest.mark.parametrize("modality", MODALITIES)
@pytest.mark.parametrize("mirror", [True, False])
def test_train_transform_equals_per_frame_reference(modality: str, mirror: bool) -> None:
    rng = np.random.default_rng(7)
    b, t, h, w, size = 9, 2, 72, 100, 48
    raw = random_raw(rng, modality, (b, t, h, w))
    got = T.train_transform(raw, modality, [np.random.default_rng([3, i]) for i in range(b)], size, mirror=mirror)
    assert got.shape == (b, t, T.CHANNELS[modality], size, size) and got.dtype == torch.float32
    flips = 0
    for i in range(b):
        draw = np.random.default_rng([3, i])  # the draws train_transform makes for clip i
        (x0, y0, cw, ch), = T.sample_multiscale_crops(draw, 1, h, w, T.TRAIN_SCALES[modality], size)
        flipped = bool(draw.random() < 0.5) and mirror
        flips += flipped
        for j in range(t):
            crop = reference_quantize(raw[i, j, y0 : y0 + ch, x0 : x0 + cw].numpy(), modality)
            picture = reference_resize(crop, (size, size))
            if flipped:
                picture = picture[:, :, ::-1]
            np.testing.assert_array_equal(got[i, j].numpy(), reference_input(picture, modality, flipped))
    assert (flips > 0) == mirror  # the seeds above flip some clips


@pytest.mark.parametrize("modality", MODALITIES)
def test_eval_and_ten_crop_equal_per_frame_reference(modality: str) -> None:
    rng = np.random.default_rng(8)
    b, t, h, w, size = 3, 2, 60, 90, 56
    scale_size = size * 256 // 224
    raw = random_raw(rng, modality, (b, t, h, w))
    centre = T.eval_transform(raw, modality, size)
    ten = T.ten_crop_transform(raw, modality, size)
    off = T.center_crop_offset(scale_size, size)
    for i in range(b):
        for j in range(t):
            scaled = reference_resize(reference_quantize(raw[i, j].numpy(), modality), (scale_size, scale_size))
            want = reference_input(scaled[:, off : off + size, off : off + size], modality, False)
            np.testing.assert_array_equal(centre[i, j].numpy(), want)
            for v, (x, y) in enumerate(T.ten_crop_offsets(scale_size, size)):
                view = scaled[:, y : y + size, x : x + size]
                np.testing.assert_array_equal(ten[i, v, j].numpy(), reference_input(view, modality, False))
                mirrored = reference_input(view[:, :, ::-1], modality, True)
                np.testing.assert_array_equal(ten[i, v + 5, j].numpy(), mirrored)


@pytest.mark.parametrize("modality", ["mv", "residual"])
@pytest.mark.parametrize("dtype", [torch.int8, torch.int16, torch.int32, torch.int64])
def test_integer_quantisation_equals_coviar_formula(modality: str, dtype: torch.dtype) -> None:
    info = torch.iinfo(dtype)
    values = torch.cat([torch.arange(-1000, 1001), torch.tensor([info.min, info.min + 1, info.max - 1, info.max])])
    values = values.to(dtype)
    raw = values.view(-1, 1, 1).expand(-1, 1, T.CHANNELS[modality]).contiguous()
    got = T.quantize(raw, modality)
    assert got.dtype == torch.uint8
    np.testing.assert_array_equal(got.numpy(), reference_quantize(raw.numpy(), modality))


def test_normalize_equals_reference() -> None:
    rng = np.random.default_rng(9)
    for modality in MODALITIES:
        raw = random_raw(rng, modality, (2, 5, 7))
        got = T.normalize(raw, modality)
        for i in range(2):
            want = reference_input(reference_quantize(raw[i].numpy(), modality).transpose(2, 0, 1), modality, False)
            np.testing.assert_array_equal(got[i].numpy(), want)


def test_float_resize_off_the_cpu_is_within_two_levels() -> None:
    # Devices without a uint8 bilinear kernel (CUDA) resize in float32; torch's CPU kernel rounds
    # fixed-point weights, so a few pixels differ by a level (two where both passes round apart).
    gen = torch.Generator().manual_seed(0)
    for channels in (2, 3):
        images = torch.randint(0, 256, (4, 97, 131, channels), dtype=torch.uint8, generator=gen)
        for size in ((64, 64), (224, 224), (50, 180)):
            exact = T._resize(images, *size)
            approx = T._resize_float(images.permute(0, 3, 1, 2), *size)
            diff = (exact.int() - approx.int()).abs()
            assert diff.max() <= 2
            assert (diff > 0).float().mean() < 0.03


@pytest.mark.parametrize("modality", MODALITIES)
def test_transforms_run_where_the_input_lives(modality: str) -> None:
    # No test needs a GPU: torch's "meta" device (shapes only, no kernels of the CPU's) runs the
    # same code path a CUDA tensor takes, including the float resize.
    rng = np.random.default_rng(10)
    raw = random_raw(rng, modality, (3, 2, 40, 60)).to("meta")
    train = T.train_transform(raw, modality, [np.random.default_rng(i) for i in range(3)], 32)
    centre = T.eval_transform(raw, modality, 32)
    ten = T.ten_crop_transform(raw, modality, 32)
    channels = T.CHANNELS[modality]
    assert train.device.type == centre.device.type == ten.device.type == "meta"
    assert train.shape == centre.shape == (3, 2, channels, 32, 32) and train.dtype == torch.float32
    assert ten.shape == (3, 10, 2, channels, 32, 32)


@pytest.mark.parametrize("modality", MODALITIES)
def test_pictures_then_network_input_equal_the_float_transforms(modality: str) -> None:
    """The integer half then the float half (what a training device runs) is train_transform and
    eval_transform bit for bit; normalize_batch does the same to a whole fused batch."""
    rng = np.random.default_rng(10)
    b, t, h, w, size = 8, 2, 50, 70, 40
    raw = random_raw(rng, modality, (b, t, h, w))
    draws = [np.random.default_rng([4, i]) for i in range(b)]
    pictures, flip = T.train_pictures(raw, modality, draws, size)
    assert pictures.dtype == torch.uint8 and flip.dtype == bool and flip.any() and not flip.all()
    want = T.train_transform(raw, modality, [np.random.default_rng([4, i]) for i in range(b)], size)
    for flags in (flip, torch.from_numpy(flip)):
        np.testing.assert_array_equal(T.to_network_input(pictures, modality, flags).numpy(), want.numpy())
    into = torch.full(pictures.shape, float("nan"))
    assert T.to_network_input(pictures, modality, flip, into) is into  # written in place, the same values
    np.testing.assert_array_equal(into.numpy(), want.numpy())
    batch = {modality: pictures, "mv_flipped": torch.from_numpy(flip), "label": torch.arange(b)}
    got = T.normalize_batch(batch)
    assert set(got) == {modality, "label"}
    np.testing.assert_array_equal(got[modality].numpy(), want.numpy())
    centre = T.to_network_input(T.eval_pictures(raw, modality, size), modality)
    np.testing.assert_array_equal(centre.numpy(), T.eval_transform(raw, modality, size).numpy())


def test_network_input_rejects_floats_and_wrong_flags() -> None:
    pictures = torch.zeros(2, 1, 2, 4, 4, dtype=torch.uint8)
    with pytest.raises(ValueError, match="expected uint8 pictures"):
        T.to_network_input(pictures.float(), "mv")
    with pytest.raises(ValueError, match="out must be"):
        T.to_network_input(pictures, "mv", None, torch.zeros(2, 1, 2, 4, 4, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"\(3,\) flip flags for 2 clips"):
        T.to_network_input(pictures, "mv", np.ones(3, bool))
