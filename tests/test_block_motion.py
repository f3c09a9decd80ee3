"""Block-grid motion (``pkdkit.block_motion``) against FFmpeg's exported vectors (PyAV
``export_mvs``), block for block, on PyAV-made clips."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

import pkdkit
from pkdkit.block_motion import BACKWARD, FORWARD, MIXED, vectors_to_grid

from b_prediction import predict_b_frame, predictions_from_ffmpeg, references
from clips import ClipSpec, ffmpeg_frames, make_clip, render_frames
from ffmpeg_oracle import planes_of

CLIPS = {
    # Scene changes inside GOPs (cut_every) give P-frames with intra macroblocks: blocks without a vector.
    "16x16": ClipSpec(frames=14, gop=7, cut_every=5, seed=3),
    "4mv": ClipSpec(frames=14, gop=7, flags=("mv4",), cut_every=5, seed=4),
    "4mv_odd_size": ClipSpec(width=168, height=120, frames=10, gop=10, flags=("mv4",), seed=5),
    "4mv_avi_bframes": ClipSpec(frames=13, gop=13, bf=2, flags=("mv4",), container="avi", seed=6),
}


# B-frames with their real vectors (b_motion="real"): 4MV P-frames give direct macroblocks
# four vectors; quarter-pel makes every direct macroblock four 8x8 blocks.
B_CLIPS = {
    "halfpel_4mv_bf2": ClipSpec(frames=16, bf=2, flags=("mv4",), seed=12),
    "qpel_bf2_mpeg_quant": ClipSpec(frames=16, bf=2, flags=("qpel",), options={"mpeg_quant": "1"}, seed=13),
}
INTERLACED_BF2 = Path(__file__).parent / "data" / "interlaced_bf2.avi"


@pytest.fixture(scope="module")
def b_clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("block_motion_b")
    clips = {name: make_clip(root / spec.filename(name), spec) for name, spec in B_CLIPS.items()}
    return clips | {"interlaced_bf2": INTERLACED_BF2}


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("block_motion")
    return {name: make_clip(root / spec.filename(name), spec) for name, spec in CLIPS.items()}


def ffmpeg_records(path: Path) -> list[tuple[str, np.ndarray]]:
    """(picture type, FFmpeg's exported vectors) of every frame, display order."""
    out = []
    for frame in ffmpeg_frames(path, export_mvs=True):
        side = frame.side_data.get("MOTION_VECTORS")
        letter = {1: "I", 2: "P", 3: "B"}[int(frame.pict_type)]
        out.append((letter, side.to_ndarray() if side is not None else np.zeros(0)))
    return out


def positions(video: pkdkit.CompressedVideo) -> list[tuple[int, int, int]]:
    """(frame index, gop, pos) of every frame."""
    starts, lengths = video.gop_starts, video.gop_lengths
    return [(start + pos, gop, pos) for gop, start in enumerate(starts) for pos in range(lengths[gop])]


@pytest.mark.parametrize("name", list(CLIPS))
def test_grid8_equals_ffmpeg_vectors_block_for_block(clips: dict[str, Path], name: str) -> None:
    video = pkdkit.open(clips[name])
    records = ffmpeg_records(clips[name])
    assert len(records) == video.num_frames
    widths = set()
    intra_blocks = 0
    for index, gop, pos in positions(video):
        letter, recs = records[index]
        grid = pkdkit.block_motion(video, gop, pos)
        rows, cols = -(-video.height // 16) * 2, -(-video.width // 16) * 2
        assert grid.motion.shape == grid.backward.shape == (rows, cols, 2) and grid.direction.shape == (rows, cols)
        assert grid.motion.dtype == np.int16 and grid.direction.dtype == np.uint8 and grid.frame_type == letter
        if letter == "I":
            assert not grid.direction.any() and not grid.motion.any() and len(recs) == 0
            continue
        assert grid.scale == 2
        assert_grid_holds_records(grid, recs, f"{name} frame {index}")
        widths |= {int(rec["w"]) for rec in recs}
        if letter == "P":
            intra_blocks += int((~grid.valid).sum())
    assert widths == ({16} if name == "16x16" else {8, 16})  # the clips really use 4MV, or not
    if name in ("16x16", "4mv"):
        assert intra_blocks > 0


def assert_grid_holds_records(grid: pkdkit.BlockMotion, recs: np.ndarray, where: str) -> None:
    """Every record's vector sits, unchanged, in each 8x8 cell of its block with its direction
    bit, no cell holds two records (no MIXED), and cells without a record are empty."""
    rows, cols = grid.direction.shape
    assert grid.grid == 8 and not (grid.direction & MIXED).any(), where
    if len(recs):
        assert (recs["motion_scale"] == grid.scale).all(), where
    seen = np.zeros((2, rows, cols), bool)
    for rec in recs:
        backward = rec["source"] > 0
        vectors = grid.backward if backward else grid.motion
        bit = BACKWARD if backward else FORWARD
        r0, c0 = (rec["dst_y"] - rec["h"] // 2) // 8, (rec["dst_x"] - rec["w"] // 2) // 8
        for r in range(r0, r0 + rec["h"] // 8):
            for c in range(c0, c0 + rec["w"] // 8):
                assert tuple(vectors[r, c]) == (rec["motion_x"], rec["motion_y"]), (where, r, c)
                assert grid.direction[r, c] & bit, (where, r, c)
                assert not seen[int(backward), r, c], f"{where}: two records in cell {r, c}"
                seen[int(backward), r, c] = True
    # Blocks without a record (intra macroblocks, I-frames) have no vector in the grid either.
    assert np.array_equal(grid.direction & FORWARD != 0, seen[0]), where
    assert np.array_equal(grid.direction & BACKWARD != 0, seen[1]), where
    assert not grid.motion[~seen[0]].any() and not grid.backward[~seen[1]].any(), where
    assert np.array_equal(grid.valid, seen.any(axis=0)), where


def expected_by_pixels(recs: np.ndarray, width: int, height: int, grid: int) -> tuple[np.ndarray, np.ndarray]:
    """Independent oracle: paint every vector over its pixels, then take each cell's per-pixel
    mean per direction, rounded half away from zero. Returns (vectors (2, rows, cols, 2), count)."""
    rows, cols = -(-height // 16) * 16 // grid, -(-width // 16) * 16 // grid
    sums = np.zeros((2, rows, cols, 2), np.int64)
    area = np.zeros((2, rows, cols), np.int64)
    count = np.zeros((2, rows, cols), np.int64)
    for rec in recs:
        d = int(rec["source"] > 0)
        x0, y0 = rec["dst_x"] - rec["w"] // 2, rec["dst_y"] - rec["h"] // 2
        touched = set()
        for y in range(y0, y0 + rec["h"]):
            for x in range(x0, x0 + rec["w"]):
                cell = (y // grid, x // grid)
                sums[(d, *cell)] += (rec["motion_x"], rec["motion_y"])
                area[(d, *cell)] += 1
                touched.add(cell)
        for cell in touched:
            count[(d, *cell)] += 1
    out = np.zeros_like(sums)
    for idx in zip(*np.nonzero(area)):
        for axis in range(2):
            q = Fraction(int(sums[(*idx, axis)]), int(area[idx]))
            out[(*idx, axis)] = (1 if q >= 0 else -1) * int(abs(q) + Fraction(1, 2))
    return out, count


def test_macroblock_grid_of_4mv_is_the_mean_of_four(clips: dict[str, Path]) -> None:
    video = pkdkit.open(clips["4mv"])
    records = ffmpeg_records(clips["4mv"])
    mixed = 0
    for index, gop, pos in positions(video):
        letter, recs = records[index]
        if letter != "P":
            continue
        grid = pkdkit.block_motion(video, gop, pos, grid=16)
        assert grid.direction.shape == (9, 11)
        expected, count = expected_by_pixels(recs, video.width, video.height, 16)
        assert np.array_equal(grid.motion, expected[0]) and np.array_equal(grid.backward, expected[1])
        assert np.array_equal(grid.direction & MIXED != 0, (count > 1).any(axis=0))
        mixed += int((count[0] == 4).sum())
    assert mixed > 0


def test_h264_through_the_ffmpeg_fallback(tmp_path: Path) -> None:
    """H.264 partitions (16x8 ... 4x4) on the 4, 8 and 16 grids: FFmpeg's vectors, quarter-pel."""
    path = tmp_path / "h264.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(25, 1))
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        # Small partitions and no B-frames: every P-frame mixes block sizes.
        stream.options = {"x264-params": "bframes=0:partitions=all:keyint=20", "qp": "24"}
        for img in render_frames(ClipSpec(width=96, height=64, frames=10, seed=7)):
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    video = pkdkit.open(path)
    assert video.backend == "ffmpeg"
    records = ffmpeg_records(path)
    sizes = set()
    for index, gop, pos in positions(video):
        letter, recs = records[index]
        if letter != "P":
            continue
        sizes |= {(int(r["w"]), int(r["h"])) for r in recs}
        for grid_size in (4, 8, 16):
            grid = pkdkit.block_motion(video, gop, pos, grid=grid_size)
            assert grid.scale == 4
            expected, count = expected_by_pixels(recs, 96, 64, grid_size)
            assert np.array_equal(grid.motion, expected[0]), (index, grid_size)
            assert np.array_equal(grid.direction & FORWARD != 0, count[0] > 0)
            assert np.array_equal(grid.direction & MIXED != 0, (count > 1).any(axis=0))
    assert len(sizes) > 2  # several partition sizes were exercised


def test_grid_agrees_with_the_per_pixel_map(clips: dict[str, Path]) -> None:
    """The documented convention: CoViAR's non-accumulated per-pixel vector is -motion/scale,
    truncated, over every pixel of a block whose source block lies inside the frame."""
    video = pkdkit.open(clips["4mv_odd_size"])
    checked = 0
    for _, gop, pos in positions(video)[1:]:
        grid = pkdkit.block_motion(video, gop, pos)
        per_pixel = video.motion_vectors(gop, pos, accumulate=False)
        for r, c in zip(*np.nonzero(grid.direction == FORWARD)):
            d = -np.trunc(grid.motion[r, c] / grid.scale).astype(int)  # dst - src
            y0, x0 = r * 8, c * 8
            y1, x1 = min(y0 + 8, video.height), min(x0 + 8, video.width)
            inside = min(x0 - d[0], y0 - d[1]) >= 0 and x1 - d[0] <= video.width and y1 - d[1] <= video.height
            if y1 <= y0 or x1 <= x0 or not inside:
                continue
            assert (per_pixel[y0:y1, x0:x1] == d).all(), (gop, pos, r, c)
            checked += 1
    assert checked > 100


def test_block_motion_api(clips: dict[str, Path], tmp_path: Path) -> None:
    grid = pkdkit.block_motion(str(clips["4mv"]), 0, 3)  # a path works too
    per_pixel = pkdkit.open(clips["4mv"]).motion_vectors(0, 3, accumulate=False)  # (144, 176, 2) int32
    assert grid.frame_type == "P" and per_pixel.nbytes == 128 * grid.motion.nbytes  # 64 pixels, half the bytes
    assert np.array_equal(grid.pixels(), grid.motion / 2) and "18x22 blocks of 8x8" in repr(grid)
    with pytest.raises(ValueError, match="grid 5: must be one of 4, 8, 16"):
        pkdkit.block_motion(clips["4mv"], 0, 1, grid=5)
    with pytest.raises(pkdkit.VideoIndexError, match="position 7 out of range"):
        pkdkit.block_motion(clips["4mv"], 0, 7)
    with pytest.raises(pkdkit.VideoIndexError, match="gop 2 out of range"):
        pkdkit.block_motion(clips["4mv"], 2, 0)
    # A foreign record array is refused with the frame named, not placed off the grid.
    recs = next(iter(pkdkit.open(clips["4mv"]).frames(3, 4))).motion_vectors.copy()
    recs["dst_x"][0] = 400
    with pytest.raises(ValueError, match=r"clip: frame 3: motion vector 0 \(16x16 block at x=392"):
        vectors_to_grid(recs, 176, 144, where="clip: frame 3")


def test_codec_without_vectors_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "vp9.webm"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libvpx-vp9", rate=Fraction(25, 1))
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for img in np.random.default_rng(0).integers(0, 255, (4, 48, 64, 3), dtype=np.uint8):
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    video = pkdkit.open(path)
    assert not pkdkit.block_motion(video, 0, 0).valid.any()  # the I-frame: nothing to export
    with pytest.raises(pkdkit.UnsupportedCodecError, match="exports no motion vectors for vp9"):
        pkdkit.block_motion(video, 0, 1)


@pytest.mark.parametrize("name", [*B_CLIPS, "interlaced_bf2"])
def test_real_b_grid_equals_the_decoders_records(b_clips: dict[str, Path], name: str) -> None:
    """``b_motion="real"``: B-frame grids hold the decoder's real-B records block for block
    (forward, backward, both); P-frame grids still hold FFmpeg's exported vectors."""
    path = b_clips[name]
    video = pkdkit.open(path)
    real = list(video.frames(b_motion="real"))
    ffmpeg = ffmpeg_records(path)
    assert len(real) == len(ffmpeg) == video.num_frames
    directions, moving, fields = set(), 0, 0
    for index, gop, pos in positions(video):
        letter, ffmpeg_recs = ffmpeg[index]
        assert real[index].frame_type == letter
        grid = pkdkit.block_motion(video, gop, pos, b_motion="real")
        recs = real[index].motion_vectors if letter == "B" else ffmpeg_recs
        assert_grid_holds_records(grid, recs, f"{name} frame {index}")
        if letter == "B":
            directions |= set(np.unique(grid.direction).tolist())
            moving += int((grid.motion != 0).any(axis=-1).sum() + (grid.backward != 0).any(axis=-1).sum())
            fields += int((recs["h"] == 8).sum())
            assert grid.valid.all(), "B-frames have no intra macroblocks"
    assert directions == {FORWARD, BACKWARD, FORWARD | BACKWARD}
    assert moving > 100
    if name == "interlaced_bf2":
        assert fields > 0  # field macroblocks: two 16x8 records, one row of cells each


def grid_to_records(grid: pkdkit.BlockMotion) -> np.ndarray:
    """One 8x8 record per cell and direction of a grid (the inverse of the placement)."""
    r, c = np.nonzero(grid.direction & FORWARD)
    rb, cb = np.nonzero(grid.direction & BACKWARD)
    out = np.zeros(len(r) + len(rb), dtype=pkdkit.MOTION_VECTOR_DTYPE)
    for sl, rows, cols, source, vectors in (
        (slice(0, len(r)), r, c, -1, grid.motion),
        (slice(len(r), None), rb, cb, 1, grid.backward),
    ):
        out["source"][sl], out["w"][sl], out["h"][sl] = source, 8, 8
        out["dst_x"][sl], out["dst_y"][sl] = cols * 8 + 4, rows * 8 + 4
        out["motion_x"][sl], out["motion_y"][sl] = vectors[rows, cols, 0], vectors[rows, cols, 1]
        out["motion_scale"][sl] = grid.scale
    return out


def test_real_b_grid_reproduces_ffmpegs_b_prediction(b_clips: dict[str, Path]) -> None:
    """Independent of the records: the forward and backward grids, applied with a numpy
    half-sample motion compensation to FFmpeg's decoded references (``b_prediction``), give
    FFmpeg's B-frame prediction (decoded with ``skip_idct=noref``) sample for sample in Y, U, V.
    The default grid (FFmpeg's zero motion) does not."""
    path = b_clips["halfpel_4mv_bf2"]
    video = pkdkit.open(path)
    predicted = predictions_from_ffmpeg(path)
    decoded = [planes_of(f) for f in ffmpeg_frames(path)]
    types = video.frame_types
    assert "".join(t for t, _ in predicted) == types
    checked = zero_motion_wrong = 0
    for index, gop, pos in positions(video):
        if types[index] != "B":
            continue
        past, future = references(types, index)
        grid = pkdkit.block_motion(video, gop, pos, b_motion="real")
        got = predict_b_frame(grid_to_records(grid), decoded[past], decoded[future])
        for plane, a, b in zip("YUV", got, predicted[index][1]):
            bad = np.argwhere(a != b)
            assert bad.size == 0, f"frame {index} plane {plane}: prediction differs at {bad[:3].tolist()}"
        checked += 1
        default = pkdkit.block_motion(video, gop, pos)
        np.testing.assert_array_equal(default.direction, grid.direction)
        zero = predict_b_frame(grid_to_records(default), decoded[past], decoded[future])
        zero_motion_wrong += int((zero[0] != predicted[index][1][0]).any())
    assert checked >= 8 and zero_motion_wrong > 0


def test_real_b_grid_needs_the_native_decoder(b_clips: dict[str, Path]) -> None:
    path = b_clips["halfpel_4mv_bf2"]
    with pytest.raises(ValueError, match="b_motion must be 'ffmpeg' or 'real'"):
        pkdkit.block_motion(path, 0, 1, b_motion="zero")
    with pytest.raises(ValueError, match="needs pkdkit's decoder"):
        pkdkit.block_motion(pkdkit.open(path, backend="ffmpeg"), 0, 1, b_motion="real")
