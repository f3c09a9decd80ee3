"""Sampling index math, transforms, and the torch datasets over a tiny synthetic set.

The datasets run here on a PyAV + numpy loader built from ``coviar_reference`` (FFmpeg's decode,
CoViAR's rules), the same call signature as ``pkdkit.load_batch``.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

import pkdkit
from pkdkit._pyav import ffmpeg_errors
from pkdkit.data.datasets import CoviarDataset, FusedDataset, GopIndex, read_datalist
from pkdkit.data.sampling import coviar_positions, frame_to_gop, fused_positions, segment_frames
from pkdkit.data.synth import synth_dataset
from pkdkit.data.transforms import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    TRAIN_SCALES,
    crop_resize,
    eval_transform,
    normalize,
    sample_multiscale_crops,
    ten_crop_transform,
    train_transform,
)

import coviar_reference as ref

# ---------------------------------------------------------------- sampling index math


def test_segment_frames_test_centres() -> None:
    # iframe: (36 - 1) / 3 = 11.67 per segment, centres 5.83, 17.5, 29.2 -> 6, 18 (half to even), 29.
    assert segment_frames(36, 3, "iframe", is_train=False) == [6, 18, 29]
    # mv: frame 0 excluded: (35 - 1) / 3 = 11.33, centres 5.67, 17, 28.3 -> 6, 17, 28, then + 1.
    assert segment_frames(36, 3, "mv", is_train=False) == [7, 18, 29]
    assert segment_frames(2, 3, "residual", is_train=False) == [1, 1, 1]
    assert segment_frames(1, 1, "iframe", is_train=False) == [0]


def test_segment_frames_train_covers_each_segment() -> None:
    rng = np.random.default_rng(0)
    seen = [set(), set(), set()]
    for _ in range(400):
        for seg, frame in enumerate(segment_frames(37, 3, "mv", is_train=True, rng=rng)):
            seen[seg].add(frame)
    # 36 usable frames (1..36), segment edges at round(35 / 3 * k) = 0, 12, 23, 35, shifted by 1.
    assert seen == [set(range(1, 13)), set(range(13, 24)), set(range(24, 36))]


def test_segment_frames_fails() -> None:
    with pytest.raises(ValueError, match="too short for mv"):
        segment_frames(1, 3, "mv", is_train=False)
    with pytest.raises(ValueError, match="modality 'flow'"):
        segment_frames(10, 3, "flow", is_train=False)
    with pytest.raises(ValueError, match="random generator"):
        segment_frames(10, 3, "iframe", is_train=True)


def test_frame_to_gop_matches_coviar_on_fixed_gops() -> None:
    starts, lengths = list(range(0, 100, 12)), [12] * 8 + [4]
    for frame in range(1, 100):
        gop, pos = frame // 12, frame % 12
        if pos == 0:  # CoViAR: an I-frame position is the previous GOP's last P-frame
            gop, pos = gop - 1, 11
        assert frame_to_gop(frame, starts, lengths, "mv") == (gop, pos)
        assert frame_to_gop(frame, starts, lengths, "iframe") == (frame // 12, 0)


def test_frame_to_gop_uses_real_boundaries() -> None:
    starts, lengths = [0, 5, 17], [5, 12, 3]
    assert frame_to_gop(4, starts, lengths, "residual") == (0, 4)
    assert frame_to_gop(5, starts, lengths, "mv") == (0, 4)
    assert frame_to_gop(6, starts, lengths, "mv") == (1, 1)
    assert frame_to_gop(17, starts, lengths, "mv") == (1, 11)
    assert frame_to_gop(19, starts, lengths, "mv") == (2, 2)
    assert frame_to_gop(19, starts, lengths, "iframe") == (2, 0)


def test_fused_positions() -> None:
    starts, lengths = [0, 12, 24], [12, 12, 1]
    # Test: the middle P position (12 - 1) // 2 = 5 of each segment's GOP; the lone I-frame GOP 2
    # has no P-frame, so its segment falls back to GOP 1.
    assert fused_positions(25, starts, lengths, 3, is_train=False) == [(0, 5), (1, 5), (1, 5)]
    rng = np.random.default_rng(1)
    drawn = [p for _ in range(200) for p in fused_positions(25, starts, lengths, 3, True, rng)]
    assert {g for g, _ in drawn} == {0, 1} and {p for _, p in drawn} == set(range(1, 12))
    assert fused_positions(3, [0, 1, 2], [1, 1, 1], 2, is_train=False) == [(0, 0), (0, 0)]


def test_coviar_positions_deterministic_per_seed() -> None:
    def draw(seed: int) -> list:
        return coviar_positions(100, range(0, 100, 12), [12] * 8 + [4], 5, "mv", True, np.random.default_rng(seed))

    assert draw(3) == draw(3)
    assert any(draw(3) != draw(s) for s in range(4, 10))


# ---------------------------------------------------------------- transforms


def test_normalize_values() -> None:
    iframe = torch.tensor([[[0, 128, 255]]], dtype=torch.uint8)
    out = normalize(iframe, "iframe")
    assert out.shape == (3, 1, 1) and out.dtype == torch.float32
    expected = (np.array([0, 128, 255]) / 255 - IMAGENET_MEAN) / IMAGENET_STD
    np.testing.assert_allclose(out[:, 0, 0].numpy(), expected, rtol=1e-6)
    # MV: v * 127.5 / 20 + 128, clipped and truncated to uint8, then / 255 - 0.5.
    mv = torch.tensor([[[20, -20], [0, 1], [100, -100], [-1, 3]]], dtype=torch.int32)
    got = normalize(mv, "mv")[:, 0, :].T.numpy()
    want = np.floor(np.clip(mv[0].numpy() * 127.5 / 20 + 128, 0, 255)) / 255 - 0.5
    np.testing.assert_allclose(got, want, atol=1e-7)
    assert got[0, 0] == pytest.approx(0.5) and got[0, 1] == pytest.approx(-0.5)
    res = torch.tensor([[[-255, 0, 200]]], dtype=torch.int16)
    want = (np.clip(np.array([-255, 0, 200]) + 128, 0, 255) / 255 - 0.5) / IMAGENET_STD
    np.testing.assert_allclose(normalize(res, "residual")[:, 0, 0].numpy(), want, atol=1e-6)


def test_normalize_fails() -> None:
    with pytest.raises(ValueError, match="mv: expected 2 channels"):
        normalize(torch.zeros(4, 4, 3), "mv")
    with pytest.raises(ValueError, match="modality 'rgb'"):
        normalize(torch.zeros(4, 4, 3), "rgb")


def test_crop_resize_exact_cases() -> None:
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.integers(0, 256, (2, 3, 8, 12, 3), dtype=np.uint8))
    squeezed = crop_resize(x, "iframe", np.array([[0, 0, 12, 8], [0, 0, 12, 8]]), 8)  # 12x8 -> 8x8
    assert squeezed.shape == (2, 3, 3, 8, 8) and squeezed.dtype == torch.uint8
    planar = x.permute(0, 1, 4, 2, 3)
    # A box of the output size is an exact crop; mirrored, an exact mirror.
    crop = crop_resize(x, "iframe", np.array([[2, 1, 6, 6], [5, 2, 6, 6]]), 6, np.array([False, True]))
    assert torch.equal(crop[0], planar[0, :, :, 1:7, 2:8])
    assert torch.equal(crop[1], planar[1, :, :, 2:8, 5:11].flip(-1))
    # Halving samples between pixel pairs: the mean of each 2x2 block (uint8 rounding: within 1).
    half = crop_resize(x, "iframe", np.array([[0, 0, 8, 8], [4, 0, 8, 8]]), 4)
    blocks = planar[0, :, :, :8, :8].double().reshape(3, 3, 4, 2, 4, 2).mean((3, 5))
    assert (half[0].double() - blocks).abs().max() <= 1
    # The MV crop is quantised (CoViAR's uint8 picture) before resizing.
    mv = torch.full((1, 1, 8, 8, 2), 20, dtype=torch.int32)
    saturated = torch.full((1, 1, 2, 4, 4), 255, dtype=torch.uint8)
    assert torch.equal(crop_resize(mv, "mv", np.array([[0, 0, 8, 8]]), 4), saturated)


def test_multiscale_crops_follow_tsn_rules() -> None:
    rng = np.random.default_rng(0)
    boxes = sample_multiscale_crops(rng, 2000, 256, 340, TRAIN_SCALES["iframe"], 224)
    sides = {256, int(256 * 0.875), int(256 * 0.75), int(256 * 0.66)}  # 256, 224, 192, 168
    assert set(boxes[:, 2]) == sides and set(boxes[:, 3]) == sides
    # Width and height scales at most one step apart.
    order = sorted(sides, reverse=True)
    assert all(abs(order.index(w) - order.index(h)) <= 1 for w, h in boxes[:, 2:])
    assert (boxes[:, 0] >= 0).all() and (boxes[:, 0] + boxes[:, 2] <= 340).all()
    assert (boxes[:, 1] >= 0).all() and (boxes[:, 1] + boxes[:, 3] <= 256).all()
    # Offsets are on TSN's grid of quarter steps.
    for x0, y0, w, h in boxes[:50]:
        assert x0 % ((340 - w) // 4 or 1) == 0 and y0 % ((256 - h) // 4 or 1) == 0


def test_flip_negates_mv_x() -> None:
    rng = np.random.default_rng(0)
    mv = torch.from_numpy(rng.integers(-30, 30, (2, 3, 48, 64, 2)).astype(np.int32))
    views = ten_crop_transform(mv, "mv", size=32)
    assert views.shape == (2, 10, 3, 2, 32, 32)
    for v in range(5):
        plain, mirrored = views[:, v], views[:, v + 5]
        torch.testing.assert_close(mirrored[:, :, 0], -plain[:, :, 0].flip(-1))
        torch.testing.assert_close(mirrored[:, :, 1], plain[:, :, 1].flip(-1))
    # Residuals and I-frames are mirrored without any sign change.
    res = torch.from_numpy(rng.integers(-50, 50, (1, 1, 48, 64, 3)).astype(np.int16))
    views = ten_crop_transform(res, "residual", size=32)
    torch.testing.assert_close(views[:, 9], views[:, 4].flip(-1))
    # In training the flip is random per clip: a clip's MV x flips sign with its mirror image.
    flat = torch.zeros(16, 1, 48, 64, 2, dtype=torch.int32)
    flat[..., 0] = 8  # everything moves right by 8 px
    out = train_transform(flat, "mv", np.random.default_rng(5), size=32)
    x_means = out[:, 0, 0].mean((1, 2))
    right = (np.floor(8 * 127.5 / 20 + 128)) / 255 - 0.5
    signs = np.sign(x_means.numpy())
    np.testing.assert_allclose(x_means.numpy(), signs * right, atol=1e-6)
    assert set(signs) == {-1.0, 1.0}


def eval_transform_shapes_and_ranges() -> None:
    rng = np.random.default_rng(0)
    raw = {
        "iframe": torch.from_numpy(rng.integers(0, 256, (2, 3, 48, 64, 3), dtype=np.uint8)),
        "mv": torch.from_numpy(rng.integers(-60, 60, (2, 3, 48, 64, 2)).astype(np.int32)),
        "residual": torch.from_numpy(rng.integers(-255, 256, (2, 3, 48, 64, 3)).astype(np.int16)),
    }
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    bounds = {
        "iframe": (-mean / std, (1 - mean) / std),
        "mv": (torch.tensor(-0.5), torch.tensor(0.5)),
        "residual": (-0.5 / std, 0.5 / std),
    }
    for modality, x in raw.items():
        c = x.shape[-1]
        for out in (train_transform(x, modality, rng, size=40), eval_transform(x, modality, size=40)):
            assert out.shape == (2, 3, c, 40, 40) and out.dtype == torch.float32
            low, high = bounds[modality]
            assert (out >= low - 1e-5).all() and (out <= high + 1e-5).all()


# ---------------------------------------------------------------- datasets


@functools.lru_cache(maxsize=64)
def _gops(path: str) -> list[ref.Gop]:
    # PyAV's errors as pkdkit.open's FFmpeg backend raises them: VideoError, the damage datasets skip.
    with ffmpeg_errors(path, opening=True):
        return ref.ffmpeg_gops(path)


class _RefVideo:
    def __init__(self, path: str) -> None:
        gops = _gops(path)
        lengths = [len(g.types) for g in gops]
        self.num_frames = sum(lengths)
        self.gop_starts = list(np.cumsum([0, *lengths[:-1]]))


def reference_loader(paths: list, gops: list, positions: list, modality: str) -> np.ndarray:
    """``pkdkit.load_batch``'s contract on FFmpeg's decode and CoViAR's rules (numpy)."""
    out = []
    for path, g, p in zip(paths, gops, positions):
        gop = _gops(path)[g]
        if modality == "iframe":
            out.append(pkdkit.yuv_to_rgb(*gop.planes[0]))
        elif modality == "mv":
            out.append(ref.motion_vectors(gop, p))
        else:
            out.append(ref.residual(gop, p, pkdkit.yuv_to_rgb).astype(np.int16))
    return np.stack(out)


class RecordingLoader:
    def __init__(self) -> None:
        self.calls: list[tuple[str, list, list]] = []

    def __call__(self, paths: list, gops: list, positions: list, modality: str) -> np.ndarray:
        self.calls.append((modality, list(gops), list(positions)))
        return reference_loader(paths, gops, positions, modality)


@pytest.fixture(scope="module")
def synth_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("datasets") / "synth"
    synth_dataset(root, 2, 4, frames=16, size=(64, 48), gop=6, seed=2, workers=1, progress=False)
    return root


def _dataset(root: Path, modality: str, **kw) -> CoviarDataset:
    kw.setdefault("loader", reference_loader)
    train = root / "datalists/synth_split1_train.txt"
    return CoviarDataset(root, train, modality, crop_size=32, opener=_RefVideo, **kw)


@pytest.mark.parametrize(("modality", "channels"), [("iframe", 3), ("mv", 2), ("residual", 3)])
def test_coviar_dataset_items(synth_root: Path, modality: str, channels: int) -> None:
    data = _dataset(synth_root, modality, seed=0)
    assert len(data) == 4
    x, label = data[1]
    assert x.shape == (3, channels, 32, 32) and x.dtype == torch.float32 and label in (0, 1)
    assert torch.isfinite(x).all()
    if modality == "mv":
        assert x.abs().max() <= 0.5 and x.abs().max() > 0  # the clips move
    test = CoviarDataset(
        synth_root, synth_root / "datalists/synth_split1_test.txt", modality, 2, is_train=False,
        crop_size=24, opener=_RefVideo, loader=reference_loader,
    )
    y, _ = test[0]
    assert y.shape == (2, channels, 24, 24)
    torch.testing.assert_close(test[0][0], y)  # test mode has no randomness
    test.ten_crop = True
    views, _ = test[0]
    assert views.shape == (10, 2, channels, 24, 24)


def test_coviar_dataset_samples_real_gops(synth_root: Path) -> None:
    loader = RecordingLoader()
    data = _dataset(synth_root, "mv", num_segments=4, is_train=False, loader=loader)
    data[0]
    # 16 frames, GOP 6 (I-frames at 0, 6, 12). MV test centres: frames 1..15, (15 - 1) / 4 = 3.5
    # per segment, centres 1.75, 5.25, 8.75, 12.25 -> 2, 5, 9, 12, + 1 -> 3, 6, 10, 13.
    assert segment_frames(16, 4, "mv", is_train=False) == [3, 6, 10, 13]
    modality, gops, positions = loader.calls[0]
    # Frame 6 is GOP 1's I-frame: it maps to GOP 0's last position (0, 5).
    assert modality == "mv" and list(zip(gops, positions)) == [(0, 3), (0, 5), (1, 4), (2, 1)]


def test_coviar_dataset_is_deterministic_under_a_seed(synth_root: Path) -> None:
    a, b = _dataset(synth_root, "residual", seed=4), _dataset(synth_root, "residual", seed=4)
    for i in range(len(a)):
        torch.testing.assert_close(a[i][0], b[i][0], rtol=0, atol=0)
    other = _dataset(synth_root, "residual", seed=5)
    assert any(not torch.equal(a[i][0], other[i][0]) for i in range(len(a)))
    a.set_epoch(1)
    assert any(not torch.equal(a[i][0], b[i][0]) for i in range(len(a)))
    # A batch through __getitems__ gives the same samples as one by one.
    batch = a.__getitems__([0, 2])
    torch.testing.assert_close(batch[1][0], a[2][0], rtol=0, atol=0)


def test_fused_dataset_takes_one_gop(synth_root: Path) -> None:
    loader = RecordingLoader()
    data = FusedDataset(
        synth_root, synth_root / "datalists/synth_split1_train.txt", 3, True, crop_size=32, seed=1,
        opener=_RefVideo, loader=loader,
    )
    item = data[2]
    assert set(item) == {"iframe", "mv", "residual", "mv_flipped", "label"}
    assert item["iframe"].shape == (3, 3, 32, 32) and item["mv"].shape == (3, 2, 32, 32)
    assert item["residual"].shape == (3, 3, 32, 32) and isinstance(item["label"], int)
    assert all(item[m].dtype == torch.uint8 for m in ("iframe", "mv", "residual"))
    assert isinstance(item["mv_flipped"], bool)
    calls = {m: (g, p) for m, g, p in loader.calls}
    assert calls["iframe"][0] == calls["mv"][0] == calls["residual"][0]  # the same GOPs
    assert calls["iframe"][1] == [0, 0, 0] and calls["mv"][1] == calls["residual"][1]
    assert all(1 <= p <= 5 for p in calls["mv"][1])


def test_damaged_video_is_replaced_not_fatal(synth_root: Path, tmp_path: Path, caplog) -> None:
    entries = read_datalist(synth_root, synth_root / "datalists/synth_split1_train.txt")
    broken = tmp_path / "broken.m4v"
    broken.write_bytes(b"\x00\x00\x01\xb6 garbage" * 20)
    entries[1] = type(entries[1])(str(broken), entries[1].label, 16)
    data = CoviarDataset(synth_root, entries, "mv", crop_size=32, seed=0, opener=_RefVideo, loader=reference_loader)
    with caplog.at_level(logging.WARNING, logger="pkdkit.data.datasets"):
        batches = list(DataLoader(data, batch_size=2))
    assert [b[0].shape for b in batches] == [(2, 3, 2, 32, 32)] * 2
    assert list(data.damaged) == [str(broken)]
    assert f"skipping damaged video {broken}" in caplog.text


def test_datalist_errors(tmp_path: Path) -> None:
    bad = tmp_path / "list.txt"
    bad.write_text("a.m4v 0 16\nb.m4v zero 16\n")
    with pytest.raises(ValueError, match=r"list.txt:2: expected '<path> <label> <frames>'"):
        read_datalist(tmp_path, bad)
    bad.write_text("\n")
    with pytest.raises(ValueError, match="no videos listed"):
        read_datalist(tmp_path, bad)
    with pytest.raises(ValueError, match="modality 'rgb'"):
        CoviarDataset(tmp_path, [], "rgb")


def test_gop_index_from_a_video_object() -> None:
    class Video:
        num_frames, gop_starts = 30, [0, 12, 24]

    assert GopIndex.of(Video()) == GopIndex(30, (0, 12, 24), (12, 12, 6))


def test_ten_crop_centre_view_is_the_test_crop() -> None:
    rng = np.random.default_rng(3)
    raw = torch.from_numpy(rng.integers(0, 256, (2, 3, 256, 340, 3), dtype=np.uint8))
    views = ten_crop_transform(raw, "iframe")
    assert views.shape == (2, 10, 3, 3, 224, 224)
    # (256 - 224) // 4 = 8: the centre view starts at 16 = (256 - 224) / 2, as the test crop does.
    torch.testing.assert_close(views[:, 4], eval_transform(raw, "iframe"), rtol=0, atol=1e-5)


def test_gop_index_of_pkdkit_open_matches_ffmpeg(synth_root: Path) -> None:
    for path in sorted(synth_root.rglob("*.m4v")):
        ours = GopIndex.of(pkdkit.open(str(path)))
        assert ours == GopIndex.of(_RefVideo(str(path))) == GopIndex(16, (0, 6, 12), (6, 6, 4))


@pytest.mark.parametrize("modality", ["iframe", "mv", "residual"])
def test_dataset_on_pkdkit_matches_the_reference(synth_root: Path, modality: str) -> None:
    """The default data path (pkdkit.open + pkdkit.load_batch) gives exactly the reference's input."""
    ours = CoviarDataset(synth_root, synth_root / "datalists/synth_split1_train.txt", modality, crop_size=32, seed=8)
    theirs = _dataset(synth_root, modality, seed=8)
    for i in range(len(ours)):
        torch.testing.assert_close(ours[i][0], theirs[i][0], rtol=0, atol=0)
    batch = next(iter(DataLoader(ours, batch_size=4)))
    torch.testing.assert_close(batch[0][3], theirs[3][0], rtol=0, atol=0)


def test_fused_dataset_on_pkdkit_survives_damaged_videos(synth_root: Path, tmp_path: Path) -> None:
    entries = read_datalist(synth_root, synth_root / "datalists/synth_split1_train.txt")
    garbage, swapped = tmp_path / "garbage.m4v", tmp_path / "swapped.m4v"
    garbage.write_bytes(np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8).tobytes())
    swapped.write_bytes(Path(entries[0].path).read_bytes())
    entries += [type(entries[0])(str(garbage), 1, 16), type(entries[0])(str(swapped), 0, 16)]
    data = FusedDataset(synth_root, entries, 3, True, crop_size=32, seed=0)
    data.gop_index(str(swapped))  # indexed while intact; damaged before its frames are loaded
    swapped.write_bytes(b"\x00" * 500)
    batches = list(DataLoader(data, batch_size=3))  # the bad ones fail at open and at load
    assert [b["mv"].shape[0] for b in batches] == [3, 3]
    assert sorted(data.damaged) == sorted([str(garbage), str(swapped)])
    reference = FusedDataset(
        synth_root, entries[:4], 3, True, crop_size=32, seed=0, opener=_RefVideo, loader=reference_loader
    )
    for modality in ("iframe", "mv", "residual"):
        torch.testing.assert_close(batches[0][modality][1], reference[1][modality], rtol=0, atol=0)


def test_fused_dataset_loads_a_batch_in_one_call(synth_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """All three representations of a batch's samples go to one loading call (the place where
    load_batch decodes each sample once for all three), the I-frame at the same GOPs."""
    from pkdkit.data import datasets

    calls = []
    real = datasets._default_load_fused

    def recording(paths: list, gops: list, positions: list, representations: tuple) -> dict:
        calls.append((list(gops), list(positions), tuple(representations)))
        return real(paths, gops, positions, representations)

    monkeypatch.setattr(datasets, "_default_load_fused", recording)
    train = synth_root / "datalists/synth_split1_train.txt"
    batch = FusedDataset(synth_root, train, 3, True, crop_size=32, seed=0).__getitems__([0, 1, 2])
    assert len(calls) == 1
    gops, positions, representations = calls[0]
    assert representations == ("iframe", "mv", "residual") and len(gops) == len(positions) == 9
    assert all(p >= 1 for p in positions)  # the MV and residual of a P position of each GOP
    reference = FusedDataset(
        synth_root, train, 3, True, crop_size=32, seed=0, opener=_RefVideo, loader=reference_loader
    )
    for i, item in enumerate(batch):
        for modality in ("iframe", "mv", "residual"):
            torch.testing.assert_close(item[modality], reference[i][modality], rtol=0, atol=0)


def test_mirror_off_keeps_the_crops_and_drops_only_the_flip():
    """`mirror=False` (for direction-defined classes) draws the same crops, never flips."""
    from pkdkit.data import transforms as T

    raw = torch.from_numpy(np.random.default_rng(5).integers(-20, 20, (8, 2, 40, 48, 2)).astype(np.int32))
    mirrored = T.train_transform(raw, "mv", [np.random.default_rng(i) for i in range(8)], 32, mirror=True)
    plain = T.train_transform(raw, "mv", [np.random.default_rng(i) for i in range(8)], 32, mirror=False)
    same = [torch.equal(a, b) for a, b in zip(mirrored, plain)]
    assert any(same) and not all(same)  # fixed seeds: some clips were flipped, some not
    for a, b, s in zip(mirrored, plain, same):
        if not s:  # the flipped clip is the plain one mirrored, with the x component negated
            expected = b.flip(-1)
            expected[:, 0] = -expected[:, 0]
            torch.testing.assert_close(a, expected)


@pytest.mark.parametrize("is_train", [True, False])
def test_fused_uint8_batches_normalise_to_the_float32_batches(synth_root: Path, is_train: bool) -> None:
    """The default uint8 items, collated and normalised by normalize_batch, are bit for bit the
    float32 items (the same draws, crops, flips and MV negation)."""
    from pkdkit.data import normalize_batch

    train = synth_root / "datalists/synth_split1_train.txt"
    pictures = FusedDataset(synth_root, train, 3, is_train, crop_size=32, seed=2)
    floats = FusedDataset(synth_root, train, 3, is_train, crop_size=32, seed=2, output="float32")
    for a, b in zip(DataLoader(pictures, batch_size=4), DataLoader(floats, batch_size=4)):
        assert a["iframe"].dtype == a["mv"].dtype == a["residual"].dtype == torch.uint8
        assert a["mv_flipped"].dtype == torch.bool
        assert set(b) == {"iframe", "mv", "residual", "label"}
        got = normalize_batch(a)
        assert set(got) == set(b)
        for modality in ("iframe", "mv", "residual"):
            assert got[modality].dtype == torch.float32
            torch.testing.assert_close(got[modality], b[modality], rtol=0, atol=0)
        torch.testing.assert_close(got["label"], b["label"])
        if is_train:
            flipped = a["mv_flipped"]
            # The mirrored clips' MV x component is negated: the pictures alone would be wrong.
            assert flipped.any() and not flipped.all()
        else:
            assert not a["mv_flipped"].any()


def test_fused_dataset_rejects_an_unknown_output(synth_root: Path) -> None:
    with pytest.raises(ValueError, match="output 'float16'"):
        FusedDataset(synth_root, synth_root / "datalists/synth_split1_train.txt", output="float16")


def test_fused_collate_hands_over_the_batch_without_a_copy(synth_root: Path) -> None:
    """FusedDataset.collate gives default_collate's batch; in a worker the pictures arrive in the
    shared memory they were written to, and rows of different tensors are still stacked."""
    from torch.utils.data import default_collate

    train = synth_root / "datalists/synth_split1_train.txt"
    data = FusedDataset(synth_root, train, 3, True, crop_size=32, seed=6)
    items = data.__getitems__([0, 1, 2])
    fast, slow = FusedDataset.collate(items), default_collate(items)
    assert fast["iframe"].data_ptr() == items[0]["iframe"].data_ptr()  # no copy
    assert set(fast) == set(slow)
    for key in slow:
        torch.testing.assert_close(fast[key], slow[key], rtol=0, atol=0)
    mixed = [items[0], data.__getitems__([1])[0]]  # rows of two batches: stacked, as default_collate
    torch.testing.assert_close(FusedDataset.collate(mixed)["mv"], default_collate(mixed)["mv"], rtol=0, atol=0)
    shuffled = [items[1], items[0]]
    torch.testing.assert_close(FusedDataset.collate(shuffled)["mv"], torch.stack([items[1]["mv"], items[0]["mv"]]))
    floats = FusedDataset(synth_root, train, 3, True, crop_size=32, seed=6, output="float32")
    for dataset in (data, floats):
        workers = DataLoader(dataset, batch_size=3, num_workers=1, collate_fn=FusedDataset.collate)
        for a, b in zip(workers, DataLoader(dataset, batch_size=3)):
            assert a["residual"].is_shared()
            for key in b:
                torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)
