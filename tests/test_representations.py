"""CoViAR's representations against the numpy oracle on FFmpeg's own decode.

Every position of every GOP of clips made with PyAV (4MV, intra macroblocks in P-frames, an odd
frame size, scene-cut GOPs, H.264 with and without B-frames through the FFmpeg fallback) must
equal ``coviar_reference`` exactly: motion vectors always, residuals when both sides use
``pkdkit.yuv_to_rgb`` on FFmpeg's planes.
"""

from __future__ import annotations

import functools
import multiprocessing
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

import pkdkit
from pkdkit.errors import UnsupportedCodecError, VideoIndexError
from pkdkit.representations import load_batch

import coviar_reference as ref
from clips import ClipSpec, make_clip, render_frames

MPEG4_CLIPS = {
    "plain": ClipSpec(frames=14, gop=12),
    "mv4": ClipSpec(frames=12, flags=("mv4",)),
    "intra_mbs": ClipSpec(frames=12, gop=300, cut_every=5),
    "odd_size": ClipSpec(width=338, height=250, frames=8),
    "scene_cuts": ClipSpec(frames=16, scene_cut=True, cut_every=7, gop=300),
    # B-VOPs: the B-frame rule (forward vectors from the past reference).
    "b_frames": ClipSpec(frames=14, gop=12, bf=2),
}


# The FFmpeg backend forced on any file, MPEG-4 Part 2 included.
open_with_ffmpeg = functools.partial(pkdkit.open, backend="ffmpeg")


def to_rgb(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return pkdkit.yuv_to_rgb(y, u, v)


def make_h264(path: Path, spec: ClipSpec, bf: int) -> Path:
    """An H.264 clip from libx264 with a fixed GOP and ``bf`` B-frames."""
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=Fraction(25, 1))
        stream.width, stream.height, stream.pix_fmt = spec.width, spec.height, "yuv420p"
        stream.options = {"x264-params": f"keyint={spec.gop}:min-keyint={spec.gop}:scenecut=0:bframes={bf}"}
        for img in render_frames(spec):
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("repr_clips")


@pytest.fixture(scope="module")
def mpeg4_clip(clip_dir: Path, request: pytest.FixtureRequest) -> tuple[Path, list[ref.Gop]]:
    path = make_clip(clip_dir / f"{request.param}.m4v", MPEG4_CLIPS[request.param])
    return path, ref.ffmpeg_gops(path)


@pytest.fixture(scope="module", params=[0, 2], ids=["h264", "h264_bframes"])
def h264_clip(clip_dir: Path, request: pytest.FixtureRequest) -> tuple[Path, list[ref.Gop]]:
    path = make_h264(clip_dir / f"h264_bf{request.param}.mp4", ClipSpec(frames=16, gop=8), request.param)
    return path, ref.ffmpeg_gops(path)


def assert_video_equals_oracle(video, gops: list[ref.Gop]) -> None:
    """Every position of every GOP, both modes, by position and by whole GOP."""
    assert video.num_gops == len(gops)
    assert list(video.gop_lengths) == [len(g.types) for g in gops]
    for g, gop in enumerate(gops):
        assert np.array_equal(video.iframe(g), to_rgb(*gop.planes[0]))
        assert np.array_equal(video.iframe(g, bgr=True), to_rgb(*gop.planes[0])[..., ::-1])
        for accumulate in (True, False):
            whole = video.decode_gop(g, accumulate=accumulate)
            assert np.array_equal(whole["iframe"], to_rgb(*gop.planes[0]))
            for pos in range(len(gop.types)):
                mv = ref.motion_vectors(gop, pos, accumulate)
                res = ref.residual(gop, pos, to_rgb, accumulate)
                where = f"gop {g} pos {pos} accumulate={accumulate}"
                assert np.array_equal(whole["motion_vectors"][pos], mv), where
                assert np.array_equal(whole["residuals"][pos], res), where
                assert np.array_equal(video.motion_vectors(g, pos, accumulate=accumulate), mv), where
                assert np.array_equal(video.residual(g, pos, accumulate=accumulate), res), where
            # BGR is the same residual with channels reversed (checked on the last position).
            bgr = video.residual(g, pos, accumulate=accumulate, bgr=True)
            assert np.array_equal(bgr, res[..., ::-1])


@pytest.mark.parametrize("mpeg4_clip", list(MPEG4_CLIPS), indirect=True)
def test_mpeg4_equals_oracle(mpeg4_clip: tuple[Path, list[ref.Gop]]) -> None:
    """pkdkit's own decoder + kernels against CoViAR's rules on FFmpeg's decode."""
    path, gops = mpeg4_clip
    video = pkdkit.open(path)
    assert isinstance(video, pkdkit.CompressedVideo)
    assert_video_equals_oracle(video, gops)


@pytest.mark.parametrize("mpeg4_clip", ["mv4", "scene_cuts"], indirect=True)
def test_mpeg4_through_ffmpeg_fallback_equals_oracle(mpeg4_clip: tuple[Path, list[ref.Gop]]) -> None:
    """The fallback's own plumbing (PyAV frames -> numpy planes -> Rust kernels), on MPEG-4."""
    path, gops = mpeg4_clip
    assert_video_equals_oracle(open_with_ffmpeg(path), gops)


def test_h264_fallback_equals_oracle(h264_clip: tuple[Path, list[ref.Gop]]) -> None:
    """pkdkit.open falls back to FFmpeg for H.264; B-frames follow the documented anchor rule."""
    path, gops = h264_clip
    with pytest.raises(UnsupportedCodecError, match="H.264"):
        pkdkit.open(path, fallback=False)  # the Rust reader alone refuses it
    video = pkdkit.open(path)
    assert video.backend == "ffmpeg" and video.codec == "h264"
    assert_video_equals_oracle(video, gops)


def test_clips_exercise_what_they_claim(clip_dir: Path) -> None:
    """The oracle's inputs really have 8x8 vectors, intra MBs in P-frames and scene-cut GOPs."""
    mv4 = ref.ffmpeg_gops(make_clip(clip_dir / "check_mv4.m4v", MPEG4_CLIPS["mv4"]))
    assert any((v[:, 1] == 8).any() for v in mv4[0].vectors[1:])
    intra = ref.ffmpeg_gops(make_clip(clip_dir / "check_intra.m4v", MPEG4_CLIPS["intra_mbs"]))
    assert min(len(v) for v in intra[0].vectors[1:]) < (176 // 16) * (144 // 16)
    cuts = ref.ffmpeg_gops(make_clip(clip_dir / "check_cuts.m4v", MPEG4_CLIPS["scene_cuts"]))
    assert [len(g.types) for g in cuts] == [7, 7, 2]


@pytest.mark.parametrize("opener", [pkdkit.open, open_with_ffmpeg], ids=["native", "ffmpeg"])
def test_arrays_are_handed_over_without_a_copy(clip_dir: Path, opener) -> None:
    video = opener(make_clip(clip_dir / "zero_copy.m4v", ClipSpec(frames=4)))
    whole = video.decode_gop(0)
    batch = load_batch([video.path] * 2, [0, 0], [1, 2], "residual")
    arrays = [video.iframe(0), video.motion_vectors(0, 2), video.residual(0, 3), *whole.values(), batch]
    for arr in arrays:
        assert not arr.flags.owndata
        assert type(arr.base).__name__ == "PySliceContainer"  # the Rust Vec that owns the memory
    assert whole["motion_vectors"].dtype == np.int32 and whole["residuals"].dtype == np.int16
    assert whole["motion_vectors"].shape == (4, 144, 176, 2)
    assert not whole["motion_vectors"][0].any() and not whole["residuals"][0].any()


@pytest.mark.parametrize("opener", [pkdkit.open, open_with_ffmpeg], ids=["native", "ffmpeg"])
def test_out_of_range_gop_and_position_name_the_valid_range(clip_dir: Path, opener) -> None:
    video = opener(make_clip(clip_dir / "range.m4v", ClipSpec(frames=14, gop=12)))
    with pytest.raises(IndexError, match=r"gop 2 out of range: valid values are 0\.\.=1"):
        video.iframe(2)
    with pytest.raises(VideoIndexError, match=r"gop 1: position 2 out of range: valid values are 0\.\.=1"):
        video.motion_vectors(1, 2)
    with pytest.raises(VideoIndexError, match=r"gop -1 out of range"):
        video.decode_gop(-1)
    with pytest.raises(VideoIndexError, match=r"gop 0: position 12 out of range: valid values are 0\.\.=11"):
        video.residual(0, 12)


def test_codec_without_exported_vectors_gives_iframes_only(clip_dir: Path) -> None:
    path = clip_dir / "hevc.mp4"
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx265", rate=Fraction(25, 1))
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        stream.options = {"x265-params": "keyint=4:log-level=none"}
        for img in render_frames(ClipSpec(width=64, height=64, frames=6)):
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    video = pkdkit.open(path)
    assert video.backend == "ffmpeg" and video.codec == "hevc" and video.iframe(0).shape == (64, 64, 3)
    with pytest.raises(UnsupportedCodecError, match="exports no motion vectors for hevc"):
        video.motion_vectors(0, 1)


# ----------------------------------------------------------------------------- load_batch


@pytest.fixture(scope="module")
def batch_files(clip_dir: Path) -> list[Path]:
    return [
        make_clip(clip_dir / "batch_a.m4v", ClipSpec(frames=14, gop=12, seed=1)),
        make_clip(clip_dir / "batch_b.avi", ClipSpec(frames=10, gop=5, seed=2, container="avi")),
        make_clip(clip_dir / "batch_c.m4v", ClipSpec(frames=10, scene_cut=True, cut_every=4, gop=300, seed=3)),
    ]


def per_sample(paths, gops, positions, rep: str, accumulate: bool, bgr: bool) -> np.ndarray:
    out = []
    for path, g, p in zip(paths, gops, positions):
        video = pkdkit.open(path)
        if rep == "iframe":
            out.append(video.iframe(g, bgr=bgr))
        elif rep == "mv":
            out.append(video.motion_vectors(g, p, accumulate=accumulate))
        else:
            out.append(video.residual(g, p, accumulate=accumulate, bgr=bgr))
    return np.stack(out)


@pytest.mark.parametrize("rep", ["iframe", "mv", "residual"])
@pytest.mark.parametrize("threads", [None, 1, 2])
def test_load_batch_equals_per_sample_calls(batch_files: list[Path], rep: str, threads: int | None) -> None:
    paths = [batch_files[i] for i in (0, 1, 2, 0, 1, 2, 0)]
    gops = [0, 1, 1, 1, 0, 2, 0]
    positions = [11, 4, 3, 1, 0, 1, 5]
    for accumulate, bgr in ((True, False), (False, True)):
        got = load_batch(paths, gops, positions, rep, accumulate=accumulate, threads=threads, bgr=bgr)
        want = per_sample(paths, gops, positions, rep, accumulate, bgr)
        assert got.dtype == want.dtype and got.shape == want.shape == (7, 144, 176, want.shape[-1])
        assert np.array_equal(got, want)


# Advanced Simple Profile: B-VOPs, quarter-pel and MPEG quantisation.
ASP_BATCH = ClipSpec(frames=16, gop=8, bf=2, flags=("qpel",), options={"mpeg_quant": "1"}, seed=4)
SEVERAL = ("iframe", "mv", "residual")


def assert_several_equal_singles(paths, gops, positions, names, threads) -> None:
    """The tuple of one call equals one call per representation, array for array."""
    for accumulate in (True, False):
        for bgr in (False, True):
            got = load_batch(paths, gops, positions, names, accumulate=accumulate, threads=threads, bgr=bgr)
            assert isinstance(got, tuple) and len(got) == len(names)
            for name, array in zip(names, got):
                want = load_batch(paths, gops, positions, name, accumulate=accumulate, threads=threads, bgr=bgr)
                assert array.dtype == want.dtype and array.shape == want.shape
                assert np.array_equal(array, want), (name, accumulate, bgr)


@pytest.mark.parametrize("threads", [1, 2])
def test_several_representations_at_once_equal_single_calls_simple_profile(batch_files, threads) -> None:
    paths = [batch_files[i] for i in (0, 1, 2, 0, 1, 2, 0)]
    gops, positions = [0, 1, 1, 1, 0, 2, 0], [11, 4, 3, 1, 0, 1, 5]
    assert_several_equal_singles(paths, gops, positions, SEVERAL, threads)
    # Any order and subset, as a list too; the residual (full decode) with MV, MV with I-frame.
    assert_several_equal_singles(paths, gops, positions, ["residual", "iframe"], threads)
    assert_several_equal_singles(paths, gops, positions, ("mv", "iframe"), threads)
    # Against the per-sample API as well (not only load_batch against itself).
    got = load_batch(paths, gops, positions, SEVERAL, threads=threads)
    for name, array in zip(SEVERAL, got):
        assert np.array_equal(array, per_sample(paths, gops, positions, name, True, False))


def test_several_representations_at_once_equal_single_calls_advanced_simple(clip_dir: Path) -> None:
    asp = make_clip(clip_dir / "batch_asp.m4v", ASP_BATCH)
    video = pkdkit.open(asp)
    assert "B" in video.frame_types and video.num_gops >= 2
    samples = [(g, p) for g in range(video.num_gops) for p in range(video.gop_lengths[g])]
    gops, positions = [g for g, _ in samples], [p for _, p in samples]
    assert_several_equal_singles([asp] * len(samples), gops, positions, SEVERAL, 2)
    got = load_batch([asp] * len(samples), gops, positions, SEVERAL, threads=1)
    for name, array in zip(SEVERAL, got):
        assert np.array_equal(array, per_sample([asp] * len(samples), gops, positions, name, True, False))
        assert array[1:].any()  # real content, not zeros everywhere


def test_several_representations_with_an_h264_file_in_the_batch(batch_files, clip_dir) -> None:
    h264 = make_h264(clip_dir / "batch_h264.mp4", ClipSpec(frames=8, gop=4), 0)
    paths = [batch_files[0], h264, batch_files[1], h264]
    gops, positions = [1, 1, 0, 0], [1, 3, 4, 2]
    assert_several_equal_singles(paths, gops, positions, SEVERAL, 2)
    got = load_batch(paths, gops, positions, SEVERAL)
    assert np.array_equal(got[2][1], pkdkit.open(h264).residual(1, 3))
    # FFmpeg's files alone go through the same path.
    assert_several_equal_singles([h264, h264], [0, 1], [3, 2], ("residual", "mv"), None)


def test_several_representations_refuse_bad_names(batch_files) -> None:
    bad = {
        ("iframe", "flow"): "representation must be one of",
        (): "at least one representation",
        ("mv", "mv"): "asked for once",
        ("residual", 2): "asked for once",  # CoViAR's code 2 is the residual
    }
    for names, message in bad.items():
        with pytest.raises(ValueError, match=message):
            load_batch(batch_files[:1], [0], [1], names)
    with pytest.raises(IndexError, match=r"batch_a.m4v: position 3 out of range"):
        load_batch([batch_files[0]], [1], [3], ("iframe", "mv"))
    # The position is not checked for I-frames alone (as for one "iframe").
    alone = load_batch([batch_files[0]], [1], [99], ("iframe",))
    assert np.array_equal(alone[0], load_batch([batch_files[0]], [1], [99], "iframe"))


def test_load_batch_takes_coviar_codes_and_falls_back_for_other_codecs(batch_files, clip_dir) -> None:
    h264 = make_h264(clip_dir / "batch_h264.mp4", ClipSpec(frames=8, gop=4), 0)
    got = load_batch([batch_files[0], h264], [1, 1], [1, 3], 1)
    assert np.array_equal(got[0], pkdkit.open(batch_files[0]).motion_vectors(1, 1))
    assert np.array_equal(got[1], pkdkit.open(h264).motion_vectors(1, 3))


def test_load_batch_refuses_bad_batches(batch_files: list[Path], clip_dir: Path) -> None:
    odd = make_clip(clip_dir / "batch_odd.m4v", ClipSpec(width=96, height=64, frames=3))
    with pytest.raises(ValueError, match="batch_odd.m4v: frame size 96x64 differs .* 176x144"):
        load_batch([batch_files[0], odd], [0, 0], [1, 1], "mv")
    with pytest.raises(IndexError, match=r"batch_b.avi: gop 2 out of range: valid values are 0\.\.=1"):
        load_batch([batch_files[0], batch_files[1]], [0, 2], [1, 1], "mv")
    with pytest.raises(IndexError, match=r"batch_a.m4v: position 3 out of range: valid values are 0\.\.=1"):
        load_batch([batch_files[0]], [1], [3], "residual")
    with pytest.raises(ValueError, match="same length"):
        load_batch(batch_files, [0, 0], [1, 1, 1], "mv")
    with pytest.raises(ValueError, match="representation must be one of"):
        load_batch(batch_files[:1], [0], [0], "flow")
    with pytest.raises(ValueError, match="threads must be"):
        load_batch(batch_files[:1], [0], [0], "mv", threads=0)


def _batch_in_child(args: tuple) -> np.ndarray:
    return load_batch(*args, threads=2)


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_load_batch_works_in_a_forked_worker_after_use_in_the_parent(batch_files: list[Path]) -> None:
    args = ([str(batch_files[0])] * 4, [0, 0, 1, 1], [3, 7, 0, 1], "residual")
    parent = load_batch(*args, threads=2)
    with multiprocessing.get_context("fork").Pool(1) as pool:
        child = pool.apply_async(_batch_in_child, (args,)).get(timeout=60)
    assert np.array_equal(parent, child)


def test_damaged_files_give_arrays_or_a_video_error_never_a_crash(clip_dir: Path, tmp_path: Path) -> None:
    data = make_clip(clip_dir / "damage.m4v", ClipSpec(frames=8, gop=4)).read_bytes()
    rng = np.random.default_rng(0)
    for i in range(24):
        damaged = bytearray(data[: len(data) - 37 * i])
        for at in rng.integers(60, len(damaged), 4):
            damaged[at] = int(rng.integers(0, 256))
        path = tmp_path / f"damaged{i}.m4v"
        path.write_bytes(bytes(damaged))
        try:
            video = pkdkit.open(path)
            for g in range(video.num_gops):
                whole = video.decode_gop(g, accumulate=bool(i % 2))
                assert whole["residuals"].shape[0] == video.gop_lengths[g]
            load_batch([path], [video.num_gops - 1], [video.gop_lengths[-1] - 1], "residual")
        except pkdkit.VideoError as err:
            assert str(path) in str(err)


def test_p_chain_positions_equal_the_oracle_on_i_and_p_frames_alone(clip_dir: Path) -> None:
    """b_frames="skip": the accumulation over the I/P frames only, as if the B-frames were absent."""
    path = make_clip(clip_dir / "pchain.m4v", ClipSpec(frames=20, gop=12, bf=2, flags=("qpel",)))
    video = pkdkit.open(path)
    assert "B" in video.frame_types
    for g, gop in enumerate(ref.ffmpeg_gops(path)):
        keep = [i for i, t in enumerate(gop.types) if t != "B"]
        assert video.gop_positions(g, "skip") == keep
        chain = ref.Gop(
            types="".join(gop.types[i] for i in keep),
            planes=[gop.planes[i] for i in keep],
            vectors=[gop.vectors[i] for i in keep],
        )
        for accumulate in (True, False):
            got = video.decode_gop(g, accumulate=accumulate, b_frames="skip")
            assert got["motion_vectors"].shape[0] == len(keep)
            for k in range(len(keep)):
                assert np.array_equal(got["motion_vectors"][k], ref.motion_vectors(chain, k, accumulate))
                assert np.array_equal(got["residuals"][k], ref.residual(chain, k, to_rgb, accumulate))
    with pytest.raises(ValueError, match="b_frames must be"):
        video.gop_positions(0, "drop")
