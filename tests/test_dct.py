"""DCT coefficients (``CompressedVideo.dct``) against FFmpeg's decoded pictures.

The coefficients are checked through an independent float IDCT written here in numpy:
- intra blocks: ``clip(round(IDCT(coefficients)))`` equals FFmpeg's decoded samples within the
  IEEE 1180 tolerance (peak error 1);
- inter-coded blocks: ``clip(prediction + round(IDCT(coefficients)))`` equals FFmpeg's decoded
  samples within 1. For half-pel P-frames the prediction is computed here from FFmpeg's exported
  vectors and FFmpeg's previous frame (and must equal the one pkdkit's decoder exposes); for
  B-frames and quarter-pel (FFmpeg exports no B-frame vectors) the decoder's prediction is used;
- blocks that are not coded are zero, and the samples there are the prediction itself;
- the levels, through the standard's dequantisation rules written here, give the coefficients.
On PyAV-made clips of every profile pkdkit decodes.
"""

from __future__ import annotations

import dataclasses
import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

import pkdkit
from pkdkit import _core
from pkdkit.dct import BATCH_CHANNELS, CONCEALED, INTER, INTRA, NOT_CODED, dct_transform, flip_blocks, normalize

from clips import GMC_ROTATE, GMC_ZOOM, ClipSpec, ffmpeg_frames, make_clip, render_frames
from ffmpeg_oracle import planes_of

ASP = {"mpeg_quant": "1"}
CLIPS = {
    "sp": ClipSpec(frames=10, seed=1),
    "sp_mv4": ClipSpec(frames=10, flags=("mv4",), seed=2),
    "sp_intra_only": ClipSpec(frames=5, gop=1, seed=3),
    "sp_mpeg_quant": ClipSpec(frames=10, flags=("mv4",), options=ASP, seed=4),
    "sp_q1_scene_cuts": ClipSpec(frames=10, qscale=1, gop=6, cut_every=4, seed=5),
    "sp_q31_aic": ClipSpec(frames=8, qscale=31, flags=("aic",), seed=6),
    "sp_dquant_mv4": ClipSpec(
        frames=10, qscale=None, flags=("mv4",), options={"lumi_mask": "0.3", "p_mask": "0.3"}, seed=7
    ),
    "sp_data_partitioning": ClipSpec(frames=10, options={"data_partitioning": "1", "ps": "300"}, seed=8),
    "sp_338x250_all_tools": ClipSpec(width=338, height=250, frames=6, flags=("mv4", "aic"), options={"ps": "300"}),
    "asp_bf2": ClipSpec(frames=12, bf=2, seed=9),
    # Short GOPs with B-frames: B-frames shown before an I-frame are decoded after it.
    "asp_bf2_gop5": ClipSpec(frames=13, bf=2, gop=5, seed=14),
    "asp_qpel": ClipSpec(frames=8, flags=("qpel",), seed=10),
    "asp_bf2_qpel_mv4_mpeg_quant": ClipSpec(frames=12, bf=2, flags=("qpel", "mv4"), options=ASP, seed=11),
}
# Clips whose P-frame prediction is computed here from FFmpeg's vectors (half-pel, no B-frames,
# frame size a multiple of 16).
INDEPENDENT_PREDICTION = {"sp", "sp_mv4", "sp_mpeg_quant", "sp_q1_scene_cuts", "sp_dquant_mv4", "sp_data_partitioning"}

# Facts of ISO/IEC 14496-2: the default MPEG quantisation matrices (natural order) and the
# DC scalers of Table 7-1.
DEFAULT_INTRA = np.array(
    [
        [8, 17, 18, 19, 21, 23, 25, 27],
        [17, 18, 19, 21, 23, 25, 27, 28],
        [20, 21, 22, 23, 24, 26, 28, 30],
        [21, 22, 23, 24, 26, 28, 30, 32],
        [22, 23, 24, 26, 28, 30, 32, 35],
        [23, 24, 26, 28, 30, 32, 35, 38],
        [25, 26, 28, 30, 32, 35, 38, 41],
        [27, 28, 30, 32, 35, 38, 41, 45],
    ]
)
DEFAULT_INTER = np.array(
    [
        [16, 17, 18, 19, 20, 21, 22, 23],
        [17, 18, 19, 20, 21, 22, 23, 24],
        [18, 19, 20, 21, 22, 23, 24, 25],
        [19, 20, 21, 22, 23, 24, 26, 27],
        [20, 21, 22, 23, 25, 26, 27, 28],
        [21, 22, 23, 24, 26, 27, 28, 30],
        [22, 23, 24, 26, 27, 28, 30, 31],
        [23, 24, 25, 27, 28, 30, 31, 33],
    ]
)


def dc_scaler(q: np.ndarray, luma: bool) -> np.ndarray:
    if luma:
        return np.select([q <= 4, q <= 8, q <= 24], [8, 2 * q, q + 8], 2 * q - 16)
    return np.select([q <= 4, q <= 24], [8, (q + 13) // 2], q - 6)


# ---- an independent float IDCT ----

# _C[u, x] = c(u) / 2 * cos((2x + 1) u pi / 16), c(0) = 1 / sqrt(2): f = _C^T F _C.
_C = np.array([[math.cos((2 * x + 1) * u * math.pi / 16) for x in range(8)] for u in range(8)]) / 2
_C[0] *= math.sqrt(0.5)


def float_idct_plane(coefficients: np.ndarray) -> np.ndarray:
    """``(rows, cols, 8, 8)`` coefficients to the ``(8 * rows, 8 * cols)`` float samples."""
    blocks = np.einsum("vy,rcvu,ux->rcyx", _C, coefficients.astype(np.float64), _C)
    rows, cols = coefficients.shape[:2]
    return blocks.transpose(0, 2, 1, 3).reshape(rows * 8, cols * 8)


def pixel_types(types: np.ndarray) -> np.ndarray:
    return np.repeat(np.repeat(types, 8, axis=0), 8, axis=1)


# ---- half-pel motion compensation from FFmpeg's exported vectors ----


def hpel_block(ref: np.ndarray, x: int, y: int, size: int, mx: int, my: int, rounding: int) -> np.ndarray:
    """A ``size x size`` half-pel prediction at (x, y) moved by (mx, my) half samples; reads
    outside the picture repeat its edge."""
    h, w = ref.shape
    xs = x + (mx >> 1) + np.arange(size + 1)
    ys = y + (my >> 1) + np.arange(size + 1)
    r = ref[np.clip(ys, 0, h - 1)][:, np.clip(xs, 0, w - 1)].astype(np.int32)
    a, b, c, d = r[:-1, :-1], r[:-1, 1:], r[1:, :-1], r[1:, 1:]
    if mx & 1 and my & 1:
        return (a + b + c + d + 2 - rounding) >> 2
    if mx & 1:
        return (a + b + 1 - rounding) >> 1
    if my & 1:
        return (a + c + 1 - rounding) >> 1
    return a


def chroma_1mv(m: int) -> int:
    return ((m >> 2) << 1) | int(m & 3 != 0)


def chroma_4mv(total: int) -> int:
    round_16 = [0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1]
    return round_16[total & 15] + (total >> 3)


def predict_p(ref: list[np.ndarray], records: np.ndarray, rounding: int) -> list[np.ndarray]:
    """Y, U, V prediction of a P-frame from its reference and FFmpeg's exported vectors (blocks
    without a vector, intra ones, stay -1)."""
    out = [np.full(p.shape, -1, np.int32) for p in ref]
    by_mb: dict[tuple[int, int], list] = {}
    for rec in records:
        by_mb.setdefault((int(rec["dst_x"]) // 16, int(rec["dst_y"]) // 16), []).append(rec)
    for (mbx, mby), recs in by_mb.items():
        for rec in recs:
            size = int(rec["w"])
            x, y = int(rec["dst_x"]) - size // 2, int(rec["dst_y"]) - size // 2
            out[0][y : y + size, x : x + size] = hpel_block(
                ref[0], x, y, size, int(rec["motion_x"]), int(rec["motion_y"]), rounding
            )
        if len(recs) == 4:
            cmx = chroma_4mv(sum(int(r["motion_x"]) for r in recs))
            cmy = chroma_4mv(sum(int(r["motion_y"]) for r in recs))
        else:
            cmx, cmy = chroma_1mv(int(recs[0]["motion_x"])), chroma_1mv(int(recs[0]["motion_y"]))
        for plane in (1, 2):
            out[plane][mby * 8 : mby * 8 + 8, mbx * 8 : mbx * 8 + 8] = hpel_block(
                ref[plane], mbx * 8, mby * 8, 8, cmx, cmy, rounding
            )
    return out


# ---- the standard's dequantisation ----


def dequantise(frame: pkdkit.dct.DctFrame, plane: str, mpeg_quant: bool) -> np.ndarray:
    levels = getattr(frame, f"{plane}_levels").astype(np.int64)
    types = frame.plane_types(plane)
    q = frame.qscale.astype(np.int64)
    if plane == "y":
        q = np.repeat(np.repeat(q, 2, axis=0), 2, axis=1)
    q = q[..., None, None]
    sign = np.sign(levels)
    if mpeg_quant:
        intra = np.trunc(levels * DEFAULT_INTRA * 2 * q / 16)
        inter = sign * ((2 * np.abs(levels) + 1) * DEFAULT_INTER * q // 16)
        # Mismatch control: an even sum flips the lowest bit of the last coefficient.
        even = inter.sum(axis=(-2, -1)) % 2 == 0
        inter[..., 7, 7] = np.where(even, inter[..., 7, 7].astype(np.int64) ^ 1, inter[..., 7, 7])
    else:
        intra = levels * 2 * q + sign * ((q - 1) | 1)
        inter = np.clip(intra, -2048, 2047)
    intra[..., 0, 0] = levels[..., 0, 0] * dc_scaler(q[..., 0, 0], plane == "y")
    t = types[..., None, None]
    return np.where(t == INTRA, intra, np.where(t == INTER, inter, 0))


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("dct")
    return {name: make_clip(root / spec.filename(name), spec) for name, spec in CLIPS.items()}


def positions(video: pkdkit.CompressedVideo) -> list[tuple[int, int, int]]:
    """(display index, gop, position) of every frame."""
    return [(s + p, g, p) for g, s in enumerate(video.gop_starts) for p in range(video.gop_lengths[g])]


@pytest.mark.parametrize("name", list(CLIPS))
def test_coefficients_reconstruct_ffmpegs_pictures(clips: dict[str, Path], name: str) -> None:
    spec = CLIPS[name]
    seen = check_clip(clips[name], "mpeg_quant" in spec.options, name in INDEPENDENT_PREDICTION, spec.frames)
    assert seen[INTRA] > 0
    if spec.gop > 1:
        assert seen[INTER] > 0 and seen[NOT_CODED] > 0, seen


def block_samples(frame: pkdkit.dct.DctFrame, plane: str) -> np.ndarray:
    """The float IDCT of a plane's coefficients on the picture: Y through
    ``DctFrame.luma_samples`` (field blocks of field-DCT macroblocks back in their lines)."""
    coefficients = getattr(frame, plane)
    if plane != "y":
        return float_idct_plane(coefficients)
    return frame.luma_samples(np.einsum("vy,rcvu,ux->rcyx", _C, coefficients.astype(np.float64), _C))


def check_clip(path: Path, mpeg_quant: bool, independent: bool, frames: int | None) -> dict[int, int]:
    """Every frame's coefficients against FFmpeg's pictures (see the module docstring); returns
    the count of blocks of each type. ``independent``: half-pel P-frames without B-frames, whose
    prediction is computed here from FFmpeg's vectors. ``frames``: the clip's frame count, if
    known."""
    name = path.name
    video = pkdkit.open(path)
    assert video.backend == "native"
    core = _core.open(str(path))
    ffmpeg = ffmpeg_frames(path, export_mvs=True)
    assert len(ffmpeg) == video.num_frames == (frames or video.num_frames)
    seen = {INTRA: 0, INTER: 0, NOT_CODED: 0}
    for index, gop, pos in positions(video):
        frame = video.dct(gop, pos)
        assert frame.frame_type == video.frame_types[index]
        decoded = planes_of(ffmpeg[index])
        prediction = None
        if frame.frame_type != "I":
            prediction = [p.astype(np.int32) for p in _core.prediction(core, index)]
            if independent:
                rounding = rounding_types(path)[index]  # no B-frames: decode order is display order
                assert rounding is not None
                prediction = check_independent_prediction(frame, prediction, ffmpeg, index, rounding)
        for plane, ours in zip("yuv", decoded):
            coefficients = getattr(frame, plane)
            assert coefficients.dtype == np.int16 and coefficients.shape[-2:] == (8, 8)
            assert not coefficients.flags.owndata, "handed over from Rust without a copy"
            types = frame.plane_types(plane)
            assert types.shape == coefficients.shape[:2]
            ph, pw = ours.shape
            samples = np.rint(block_samples(frame, plane))[:ph, :pw]
            if plane == "y":  # field-DCT macroblocks: each type covers its field block's lines
                pt = frame.luma_samples(np.broadcast_to(types[..., None, None], (*types.shape, 8, 8)))[:ph, :pw]
            else:
                pt = pixel_types(types)[:ph, :pw]
            ours = ours.astype(np.int32)
            intra = pt == INTRA
            recon = np.clip(samples, 0, 255)
            assert np.abs(recon - ours)[intra].max(initial=0) <= 1, f"{name} frame {index} {plane}: intra"
            # Blocks without texture: zero coefficients and levels.
            empty = (types == NOT_CODED) | (types == CONCEALED)
            assert not coefficients[empty].any() and not getattr(frame, f"{plane}_levels")[empty].any()
            if prediction is not None:
                pred = prediction["yuv".index(plane)]
                recon = np.clip(pred + samples, 0, 255)
                inter = pt == INTER
                assert np.abs(recon - ours)[inter].max(initial=0) <= 1, f"{name} frame {index} {plane}: inter"
                assert np.array_equal(pred[pt == NOT_CODED], ours[pt == NOT_CODED])
            np.testing.assert_array_equal(dequantise(frame, plane, mpeg_quant), coefficients.astype(np.int64))
            for t in seen:
                seen[t] += int((types == t).sum())
    return seen


# ---- GMC (libxvid) and interlaced (FFmpeg's encoder) streams, written by the ffmpeg program ----

NEEDS_FFMPEG = pytest.mark.skipif(
    shutil.which("ffmpeg") is None, reason="needs the ffmpeg program (libxvid, interlaced mpeg4) to write the clips"
)
# A fast pan woven from two 50 Hz pictures: combing at every vertical edge, so many macroblocks
# are coded with field DCT (intra and inter) and field vectors.
WOVEN_PAN = "testsrc2=size=480x{h}:rate=50,crop={w}:{h}:'t*400':0,tinterlace=mode=interleave_top"
# name: (lavfi source, width, height, frames, codec arguments, MPEG quantisation)
STREAMS = {
    "gmc_zoom": (GMC_ZOOM, 176, 144, 20, ["-c:v", "libxvid", "-gmc", "1", "-bf", "0"], False),
    "gmc_zoom_bf2_qpel": (
        GMC_ZOOM,
        208,
        120,
        15,
        ["-c:v", "libxvid", "-gmc", "1", "-bf", "2", "-flags", "+qpel"],
        False,
    ),
    "gmc_rotate_bf1_mv4_mpeg_quant": (
        GMC_ROTATE,
        176,
        144,
        12,
        ["-c:v", "libxvid", "-gmc", "1", "-bf", "1", "-flags", "+mv4", "-mpeg_quant", "1"],
        True,
    ),
    "interlaced": (WOVEN_PAN, 176, 144, 10, ["-c:v", "mpeg4", "-flags", "+ildct+ilme", "-bf", "0"], False),
    "interlaced_bf2_alternate_scan": (
        WOVEN_PAN,
        176,
        144,
        13,
        ["-c:v", "mpeg4", "-flags", "+ildct+ilme", "-bf", "2", "-alternate_scan", "1", "-top", "0"],
        False,
    ),
    "interlaced_bf2_qpel_mpeg_quant_odd_size": (
        WOVEN_PAN,
        208,
        120,
        13,
        ["-c:v", "mpeg4", "-flags", "+ildct+ilme+qpel+mv4", "-bf", "2", "-mpeg_quant", "1", "-ps", "300"],
        True,
    ),
}


@pytest.fixture(scope="module")
def streams(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("dct_streams")
    out = {}
    for name, (source, w, h, frames, codec, _) in STREAMS.items():
        path = root / f"{name}.avi"
        cmd = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", source.format(w=w, h=h)]
        cmd += ["-frames:v", str(frames), *codec, "-q:v", "4", "-g", "100", str(path)]
        subprocess.run(cmd, check=True, capture_output=True)
        out[name] = path
    return out


@NEEDS_FFMPEG
@pytest.mark.parametrize("name", [n for n in STREAMS if n.startswith("gmc")])
def test_gmc_stream_coefficients(streams: dict[str, Path], name: str) -> None:
    """libxvid GMC streams (S-VOPs): intra blocks, inter blocks on top of the decoder's
    prediction (its prediction mode: the warp for GMC macroblocks; pkdkit's full decode of these
    streams is bit-exact with FFmpeg, ``test_gmc.py``), not-coded blocks zero and FFmpeg's samples
    equal to that prediction there, and the levels' dequantisation."""
    # libxvid's AVI with B-frames may hold fewer frames than were encoded: FFmpeg's count counts.
    seen = check_clip(streams[name], STREAMS[name][-1], False, None)
    video = pkdkit.open(streams[name])
    sprites = [(g, p) for i, g, p in positions(video) if video.frame_types[i] == "S"]
    assert len(sprites) >= 2, video.frame_types
    types = np.concatenate([video.dct(g, p).block_types.ravel() for g, p in sprites])
    assert (types == INTER).any() and (types == NOT_CODED).any()
    assert seen[INTRA] > 0 and seen[INTER] > 0


@NEEDS_FFMPEG
@pytest.mark.parametrize("name", [n for n in STREAMS if n.startswith("interlaced")])
def test_interlaced_stream_coefficients(streams: dict[str, Path], name: str) -> None:
    """Interlaced streams: the luma blocks of field-DCT macroblocks are field blocks
    (``DctFrame.field_dct``, ``DctFrame.luma_samples``); with that layout intra and inter blocks
    reconstruct FFmpeg's pictures. Field DCT really occurs in intra and in inter macroblocks, and
    reading its blocks as frame blocks instead fails."""
    _, _, _, frames, _, mpeg_quant = STREAMS[name]
    check_clip(streams[name], mpeg_quant, False, frames)
    video = pkdkit.open(streams[name])
    ffmpeg = ffmpeg_frames(streams[name])
    field_intra = field_inter = field_b = 0
    for index, gop, pos in positions(video):
        frame = video.dct(gop, pos)
        mbs = frame.block_types[..., :4]
        field_intra += int(((mbs == INTRA).any(axis=-1) & frame.field_dct).sum())
        field_inter += int(((mbs == INTER).any(axis=-1) & frame.field_dct).sum())
        field_b += int(frame.field_dct.sum()) if frame.frame_type == "B" else 0
        if frame.frame_type == "I" and frame.field_dct.any():
            # The same coefficients placed as frame blocks do not give the picture.
            ours = planes_of(ffmpeg[index])[0].astype(np.int32)
            as_frame = np.clip(np.rint(float_idct_plane(frame.y)), 0, 255)[: ours.shape[0], : ours.shape[1]]
            assert np.abs(as_frame - ours).max() > 8
    assert field_intra >= 10 and field_inter >= 10, (field_intra, field_inter)
    if "bf2" in name:
        assert field_b > 0


def test_luma_samples_weave_field_blocks() -> None:
    """``luma_samples``: frame macroblocks as the block grid; a field-DCT macroblock's Y0/Y1 go
    to its even lines, Y2/Y3 to its odd lines."""
    blocks = np.arange(2 * 4 * 64).reshape(2, 4, 8, 8)  # one macroblock row, two macroblocks
    luma, chroma = np.zeros((2, 4, 8, 8), np.int16), np.zeros((1, 2, 8, 8), np.int16)
    types, qscale = np.zeros((1, 2, 6), np.uint8), np.zeros((1, 2), np.uint8)
    field_dct = np.array([[False, True]])
    frame = pkdkit.dct.DctFrame("I", luma, chroma, chroma, luma, chroma, chroma, types, qscale, field_dct)
    got = frame.luma_samples(blocks)
    assert got.shape == (16, 32)
    np.testing.assert_array_equal(got[:8, :8], blocks[0, 0])  # frame macroblock: unchanged
    np.testing.assert_array_equal(got[8:, 8:16], blocks[1, 1])
    np.testing.assert_array_equal(got[0::2, 16:24], blocks[0, 2])  # field macroblock: top field
    np.testing.assert_array_equal(got[0::2, 24:32], blocks[0, 3])
    np.testing.assert_array_equal(got[1::2, 16:24], blocks[1, 2])  # bottom field
    np.testing.assert_array_equal(got[1::2, 24:32], blocks[1, 3])


def rounding_types(path: Path) -> list[int | None]:
    """``vop_rounding_type`` of every VOP of a raw stream (None for I-VOPs), read from the VOP
    headers (6.2.5): the clips have a time resolution of 25, so 5 time-increment bits."""
    data = path.read_bytes()
    out: list[int | None] = []
    at = data.find(b"\x00\x00\x01\xb6")
    while at >= 0:
        bits = "".join(f"{b:08b}" for b in data[at + 4 : at + 12])
        coding_type, k = int(bits[:2], 2), 2
        while bits[k] == "1":  # modulo_time_base
            k += 1
        k += 1 + 1 + 5 + 1  # its terminating 0, marker, time increment, marker
        assert bits[k] == "1", "vop_coded"
        out.append(int(bits[k + 1]) if coding_type == 1 else None)
        at = data.find(b"\x00\x00\x01\xb6", at + 4)
    return out


def check_independent_prediction(
    frame: pkdkit.dct.DctFrame, decoder_prediction: list[np.ndarray], ffmpeg: list, index: int, rounding: int
) -> list[np.ndarray]:
    """Half-pel prediction of P-frame ``index`` from FFmpeg's vectors and previous frame: it must
    equal the decoder's on every non-intra block, and is what the caller then uses."""
    assert frame.frame_type == "P"
    side = ffmpeg[index].side_data.get("MOTION_VECTORS")
    records = side.to_ndarray() if side is not None else np.zeros(0)
    ours = predict_p(planes_of(ffmpeg[index - 1]), records, rounding)
    for plane in range(3):
        moved = ours[plane] >= 0
        assert moved.any()
        np.testing.assert_array_equal(ours[plane][moved], decoder_prediction[plane][moved])
    return ours


def test_b_frames_and_quarter_pel_clips_really_have_inter_blocks(clips: dict[str, Path]) -> None:
    for name in ("asp_bf2", "asp_bf2_qpel_mv4_mpeg_quant"):
        video = pkdkit.open(clips[name])
        b = [(g, p) for i, g, p in positions(video) if video.frame_types[i] == "B"]
        assert b
        types = np.concatenate([video.dct(g, p).block_types.ravel() for g, p in b])
        assert (types == INTER).any() and (types == NOT_CODED).any()
        assert not (types == INTRA).any(), "B-VOPs have no intra macroblocks"


@pytest.mark.parametrize(
    "name", ["sp_q1_scene_cuts", "sp_data_partitioning", "asp_bf2_gop5", "asp_bf2_qpel_mv4_mpeg_quant"]
)
def test_dct_gop_equals_dct_at_every_position(clips: dict[str, Path], name: str) -> None:
    """``dct_gop`` (the GOP's VOPs decoded once, in decode order) and ``dct_frames`` (the whole
    video decoded once) give exactly ``dct`` of each position."""
    check_dct_gop(clips[name])


@NEEDS_FFMPEG
@pytest.mark.parametrize("name", ["gmc_zoom_bf2_qpel", "interlaced_bf2_alternate_scan"])
def test_dct_gop_of_gmc_and_interlaced_streams(streams: dict[str, Path], name: str) -> None:
    check_dct_gop(streams[name])


def check_dct_gop(path: Path) -> None:
    video = pkdkit.open(path)
    fields = [f.name for f in dataclasses.fields(pkdkit.dct.DctFrame)]
    for g in range(video.num_gops):
        frames = video.dct_gop(g)
        assert len(frames) == video.gop_lengths[g]
        for pos, frame in enumerate(frames):
            alone = video.dct(g, pos)
            for field in fields:
                where = f"gop {g} position {pos}: {field}"
                np.testing.assert_array_equal(getattr(frame, field), getattr(alone, field), err_msg=where)
    with pytest.raises(pkdkit.VideoIndexError):
        video.dct_gop(video.num_gops)
    # The one-pass stream: every frame, in display order, the same again.
    streamed = list(video.dct_frames())
    assert len(streamed) == video.num_frames
    for index, gop, pos in positions(video):
        alone = video.dct(gop, pos)
        for field in fields:
            where = f"frame {index}: {field}"
            np.testing.assert_array_equal(getattr(streamed[index], field), getattr(alone, field), err_msg=where)


def test_damaged_streams_give_coefficients_or_a_video_error(clips: dict[str, Path], tmp_path: Path) -> None:
    """Bit flips, garbage runs and cuts in a stream with B-frames: ``dct_frames``, ``dct_gop`` and
    ``dct`` either give frames of the right shapes or raise ``pkdkit.VideoError`` (never a panic,
    which PyO3 raises as a ``BaseException`` this does not catch)."""
    data = clips["asp_bf2_gop5"].read_bytes()
    rng = np.random.default_rng(5)
    outcomes = {"frames": 0, "errors": 0}
    for i in range(24):
        buf = bytearray(data)
        if i % 3 == 0:
            for at in rng.integers(40, len(buf), 6):
                buf[at] ^= 1 << int(rng.integers(8))
        elif i % 3 == 1:
            at = int(rng.integers(40, len(buf) - 64))
            buf[at : at + 32] = rng.integers(0, 256, 32, dtype=np.uint8).tobytes()
        else:
            buf = buf[: int(rng.integers(40, len(buf)))]
        path = tmp_path / f"mutant{i}.m4v"
        path.write_bytes(bytes(buf))
        try:
            video = pkdkit.open(path, fallback=False)
            shape = (2 * math.ceil(video.height / 16), 2 * math.ceil(video.width / 16), 8, 8)
            for frame in video.dct_frames():
                assert frame.y.shape == shape
                outcomes["frames"] += 1
            for g in range(video.num_gops):
                assert all(f.y.shape == shape for f in video.dct_gop(g))
                assert video.dct(g, video.gop_lengths[g] - 1).y.shape == shape
        except pkdkit.VideoError:
            outcomes["errors"] += 1
    assert outcomes["frames"] > 0, outcomes


def test_load_batch_packs_y_and_the_covering_chroma(clips: dict[str, Path]) -> None:
    path = clips["asp_bf2"]
    video = pkdkit.open(path)
    samples = [(g, p) for _, g, p in positions(video)][:7]
    batch = pkdkit.load_batch([path] * len(samples), [g for g, _ in samples], [p for _, p in samples], "dct", threads=2)
    rows, cols = 2 * math.ceil(video.height / 16), 2 * math.ceil(video.width / 16)
    assert batch.shape == (len(samples), rows, cols, BATCH_CHANNELS) and batch.dtype == np.int16
    for k, (g, p) in enumerate(samples):
        frame = video.dct(g, p)
        np.testing.assert_array_equal(batch[k], frame.packed())
        np.testing.assert_array_equal(batch[k, 3, 5, :64].reshape(8, 8), frame.y[3, 5])
        np.testing.assert_array_equal(batch[k, 3, 5, 64:128].reshape(8, 8), frame.u[1, 2])
        np.testing.assert_array_equal(batch[k, 3, 5, 128:].reshape(8, 8), frame.v[1, 2])
    with pytest.raises(pkdkit.VideoIndexError, match="position"):
        pkdkit.load_batch([path], [0], [99], "dct")


def test_indices_are_checked_and_ffmpeg_has_no_coefficients(clips: dict[str, Path]) -> None:
    path = clips["sp"]
    video = pkdkit.open(path)
    with pytest.raises(pkdkit.VideoIndexError):
        video.dct(video.num_gops, 0)
    with pytest.raises(pkdkit.VideoIndexError):
        video.dct(0, video.gop_lengths[0])
    via_ffmpeg = pkdkit.open(path, backend="ffmpeg")
    with pytest.raises(pkdkit.UnsupportedCodecError, match="exports no coefficients"):
        via_ffmpeg.dct(0, 0)
    with pytest.raises(pkdkit.UnsupportedCodecError, match="exports no coefficients"):
        via_ffmpeg.dct_gop(0)
    with pytest.raises(pkdkit.UnsupportedCodecError, match="exports no coefficients"):
        next(iter(via_ffmpeg.dct_frames()))
    assert "intra" in repr(video.dct(0, 0))


def test_files_ffmpeg_reads_have_no_coefficients_in_batches(tmp_path: Path, clips: dict[str, Path]) -> None:
    import av

    mpeg2 = tmp_path / "other.mpg"
    with av.open(str(mpeg2), "w", format="mpeg") as out:
        stream = out.add_stream("mpeg2video", rate=25)
        stream.width, stream.height, stream.pix_fmt = 176, 144, "yuv420p"
        for img in render_frames(ClipSpec(frames=6)):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
        out.mux(stream.encode(None))
    assert pkdkit.open(mpeg2).backend == "ffmpeg"
    with pytest.raises(pkdkit.UnsupportedCodecError, match="other.mpg.*exports no coefficients"):
        pkdkit.load_batch([clips["sp"], mpeg2], [0, 0], [0, 0], "dct")


def test_normalisation_is_a_signed_log_magnitude() -> None:
    c = np.array([0, 1, -1, 2048, -2048, 100], np.int16)
    got = normalize(c)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, np.sign(c) * np.log1p(np.abs(c.astype(float))) / np.log1p(2048), rtol=1e-6)
    assert got[3] == pytest.approx(1.0) and got[4] == pytest.approx(-1.0) and got[0] == 0
    assert np.all(np.diff(normalize(np.arange(-2048, 2049))) > 0), "monotonic"
    torch_got = normalize(torch.from_numpy(c))
    np.testing.assert_allclose(torch_got.numpy(), got, rtol=1e-6)


def test_flipping_coefficients_mirrors_the_pixels() -> None:
    rng = np.random.default_rng(0)
    coefficients = rng.integers(-300, 300, (2, 3, 8, 8))  # a 2x3 grid of Y blocks
    packed = np.zeros((BATCH_CHANNELS, 2, 3))
    packed[:64] = coefficients.reshape(2, 3, 64).transpose(2, 0, 1)
    flipped = flip_blocks(torch.from_numpy(packed)).numpy()
    back = flipped[:64].transpose(1, 2, 0).reshape(2, 3, 8, 8)
    np.testing.assert_allclose(float_idct_plane(back), float_idct_plane(coefficients)[:, ::-1], atol=1e-9)


def test_dct_transform_crops_whole_blocks_and_pads_small_grids() -> None:
    raw = torch.arange(2 * 3 * 6 * 9 * BATCH_CHANNELS, dtype=torch.int16).reshape(2, 3, 6, 9, BATCH_CHANNELS) % 500
    out = dct_transform(raw, None, 32)  # 4 x 4 blocks, centre
    assert out.shape == (2, 3, BATCH_CHANNELS, 4, 4) and out.dtype == torch.float32
    np.testing.assert_allclose(out[1, 2, :, 0, 0].numpy(), normalize(raw[1, 2, 1, 2].numpy()), rtol=1e-6)
    rngs = [np.random.default_rng(s) for s in (1, 2)]
    a = dct_transform(raw, rngs, 32)
    b = dct_transform(raw, [np.random.default_rng(s) for s in (1, 2)], 32)
    assert torch.equal(a, b), "seeded"
    big = dct_transform(raw, None, 96)  # 12 x 12 blocks from a 6 x 9 grid: zero padding
    assert big.shape[-2:] == (12, 12) and big[..., 0, :].abs().sum() == 0
    with pytest.raises(ValueError, match="192"):
        dct_transform(raw[..., :64], None, 32)


def test_dataset_modality_dct(tmp_path: Path, clips: dict[str, Path]) -> None:
    from pkdkit.data.datasets import CoviarDataset, DatalistEntry

    entries = [DatalistEntry(str(clips["sp"]), 0, 10), DatalistEntry(str(clips["asp_bf2"]), 1, 12)]
    for is_train in (True, False):
        ds = CoviarDataset(tmp_path, entries, "dct", num_segments=2, is_train=is_train, crop_size=64, seed=0)
        x, label = ds[1]
        assert x.shape == (2, BATCH_CHANNELS, 8, 8) and x.dtype == torch.float32
        assert label == 1 and x.abs().max() <= 1.0 and x.abs().sum() > 0
