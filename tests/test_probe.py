"""``pkdkit.open`` / ``pkdkit probe`` against FFmpeg (PyAV): frame count, picture types in
display order, GOP starts, size and rate, on clips PyAV encodes in all three containers, and on
hand-built AVIs (DivX packed bitstreams, drop frames) that exercise FFmpeg's counting rules."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import av
import pytest
from click.testing import CliRunner
from handmade import (
    encode_with_audio,
    n_vop,
    packed_frames,
    paired_frames,
    split_vops,
    without_vol_control,
    write_avi,
)

import pkdkit
from pkdkit.cli import main
from pkdkit.commands.probe import format_table, probe_info

from clips import ClipSpec, ffmpeg_frames, make_clip

SPECS = {
    "qcif-gop12": ClipSpec(176, 144, frames=24, gop=12),
    "coviar-bf2": ClipSpec(340, 256, frames=20, gop=12, bf=2),
    "odd-all-intra": ClipSpec(338, 250, frames=12, gop=1),
    "qcif-gop300-bf2": ClipSpec(176, 144, frames=20, gop=300, bf=2, seed=1),
    "odd-scene-cuts": ClipSpec(338, 250, frames=24, gop=300, scene_cut=True, cut_every=7, seed=2),
    "coviar-cuts-bf2": ClipSpec(340, 256, frames=22, gop=300, bf=2, scene_cut=True, cut_every=7, seed=2),
    "qcif-gop12-bf2-tail": ClipSpec(176, 144, frames=13, gop=12, bf=2, seed=4),
}
CONTAINERS = ["m4v", "avi", "mp4"]


def ffmpeg_types(path: Path) -> str:
    """FFmpeg's picture types of every output frame, display order."""
    return "".join(av.video.frame.PictureType(f.pict_type).name for f in ffmpeg_frames(path))


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("probe_clips")


def clip(clip_dir: Path, name: str, container: str) -> Path:
    spec = SPECS[name]
    path = clip_dir / f"{name}.{container}"
    if not path.exists():
        make_clip(path, ClipSpec(**{**spec.__dict__, "container": container}))
    return path


def assert_matches_ffmpeg(path: Path, container: str) -> pkdkit.CompressedVideo:
    frames = ffmpeg_frames(path)
    expected = "".join(av.video.frame.PictureType(f.pict_type).name for f in frames)
    video = pkdkit.open(path)
    assert video.num_frames == len(frames) == len(video)
    assert video.frame_types == expected
    assert video.gop_starts == [i for i, t in enumerate(expected) if t == "I"]
    assert video.num_gops == len(video.gop_starts)
    assert sum(video.gop_lengths) == video.num_frames - video.gop_starts[0]
    assert (video.width, video.height) == (frames[0].width, frames[0].height)
    assert video.container == container
    assert video.codec == "mpeg4"
    return video


@pytest.mark.parametrize("container", CONTAINERS)
@pytest.mark.parametrize("name", list(SPECS))
def test_open_matches_ffmpeg(clip_dir: Path, name: str, container: str) -> None:
    path = clip(clip_dir, name, container)
    video = assert_matches_ffmpeg(path, container)
    spec = SPECS[name]
    assert (video.width, video.height) == (spec.width, spec.height)
    assert video.fps == pytest.approx(25.0)
    # the clips really exercise what their names say
    if spec.bf:
        assert "B" in video.frame_types
    if spec.gop == 1:
        assert set(video.frame_types) == {"I"}
    if spec.scene_cut:
        assert video.num_gops > 1
    if spec.gop == 300 and not spec.scene_cut:
        assert video.num_gops == 1


def test_coviar_raw_stream_named_mp4_is_sniffed(clip_dir: Path, tmp_path: Path) -> None:
    raw = tmp_path / "v_Class_g01_c01.mp4"
    shutil.copy(clip(clip_dir, "qcif-gop12", "m4v"), raw)
    video = assert_matches_ffmpeg(raw, "m4v")
    assert video.frame_types == "IPPPPPPPPPPP" * 2
    assert video.gop_lengths == [12, 12]


def test_profile_from_the_sequence_header(clip_dir: Path) -> None:
    simple = pkdkit.open(clip(clip_dir, "qcif-gop12", "m4v"))
    assert simple.profile.startswith("Simple Profile")
    with_b = pkdkit.open(clip(clip_dir, "qcif-gop300-bf2", "m4v"))
    assert with_b.profile.startswith("Advanced Simple Profile")  # B-VOPs need ASP
    assert "176x144" in repr(simple) and "24 frames in 2 GOPs" in repr(simple)


@pytest.mark.parametrize("tagged", [True, False])
def test_packed_bitstream_avi_counts_like_ffmpeg(tmp_path: Path, tagged: bool) -> None:
    """DivX/XviD packed B-frames: P+B in one chunk, then an N-VOP chunk. With the 'DivX...p'
    user data FFmpeg decodes the B in place of the N-VOP; without it FFmpeg drops the B."""
    stream = make_clip(tmp_path / "bf1.m4v", ClipSpec(frames=13, gop=12, bf=1)).read_bytes()
    path = write_avi(tmp_path / "packed.avi", packed_frames(stream, packed_tag=tagged), 176, 144)
    video = assert_matches_ffmpeg(path, "avi")
    if tagged:
        assert video.frame_types == pkdkit.open(tmp_path / "bf1.m4v").frame_types
        assert video.frame_types.count("B") == 6
    else:
        assert "B" not in video.frame_types


@pytest.mark.parametrize("layout", ["divx", "pairs"])
@pytest.mark.parametrize("tagged", [True, False])
def test_unusual_packings_follow_ffmpeg(tmp_path: Path, layout: str, tagged: bool) -> None:
    """Two B-frames per reference, packed DivX-style or paired blindly (B+P, B+B chunks): the
    kept-VOP rules, dropped VOPs and FFmpeg's B-frame timing check decide the frames."""
    stream = make_clip(tmp_path / "bf2.m4v", ClipSpec(frames=16, gop=12, bf=2)).read_bytes()
    frames = packed_frames(stream, tagged) if layout == "divx" else paired_frames(stream, tagged)
    assert_matches_ffmpeg(write_avi(tmp_path / f"{layout}.avi", frames, 176, 144), "avi")


@pytest.mark.parametrize("index", [True, False])
def test_drop_frame_chunks_and_skipped_vops(tmp_path: Path, index: bool) -> None:
    """Zero-size chunks (dropped frames) and N-VOPs output nothing, except that FFmpeg repeats
    the last picture when the stream ends on an N-VOP."""
    stream = make_clip(tmp_path / "p.m4v", ClipSpec(frames=12, gop=12)).read_bytes()
    headers, vops = split_vops(stream)
    frames = [headers + vops[0], *vops[1:4], b"", b"", n_vop(), *vops[4:], b""]
    path = write_avi(tmp_path / "drops.avi", frames, 176, 144, index=index)
    assert assert_matches_ffmpeg(path, "avi").num_frames == 12
    ends_skipped = write_avi(tmp_path / "tail.avi", [headers + vops[0], *vops[1:], n_vop()], 176, 144)
    assert assert_matches_ffmpeg(ends_skipped, "avi").num_frames == 13


def test_probe_json_and_table(clip_dir: Path) -> None:
    path = clip(clip_dir, "coviar-bf2", "avi")
    result = CliRunner().invoke(main, ["probe", str(path), "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["frame_types"] == ffmpeg_types(path)
    assert info["num_frames"] == len(info["frame_types"])
    assert (info["width"], info["height"], info["container"], info["codec"]) == (340, 256, "avi", "mpeg4")
    assert info["gop_starts"] == [i for i, t in enumerate(info["frame_types"]) if t == "I"]
    assert info["fps"] == pytest.approx(25.0)
    assert info == probe_info(str(path))
    table = CliRunner().invoke(main, ["probe", str(path)])
    assert table.exit_code == 0
    assert table.output.strip() == format_table(info)
    assert "340x256" in table.output and info["frame_types"] in table.output


def test_probe_help() -> None:
    result = CliRunner().invoke(main, ["probe", "--help"])
    assert result.exit_code == 0
    assert "--json" in result.output


@pytest.mark.parametrize(
    ("flags", "options", "expected"),
    [
        # FFmpeg always leaves resync markers enabled in the VOL (it uses them with -ps)
        (
            (),
            {},
            {
                "mpeg_quant": 0,
                "quarter_sample": 0,
                "interlaced": 0,
                "resync_marker_disable": 0,
                "data_partitioned": 0,
                "encoder": 1,
                "verid": 1,
                "vo_type": 1,
            },
        ),
        ((), {"mpeg_quant": "1"}, {"mpeg_quant": 1, "custom_intra_matrix": 0, "custom_inter_matrix": 0}),
        (("qpel",), {}, {"quarter_sample": 1, "verid": 5}),  # FFmpeg marks ASP layers verid 5
        (("ildct", "ilme"), {}, {"interlaced": 1}),
        ((), {"data_partitioning": "1", "ps": "300"}, {"data_partitioned": 1, "reversible_vlc": 0}),
        (("bitexact",), {}, {"encoder": 0}),  # bit-exact mode writes no "Lavc" user data
    ],
)
def test_vol_header_fields_follow_the_encoder_options(
    tmp_path: Path, flags: tuple[str, ...], options: dict[str, str], expected: dict[str, int]
) -> None:
    path = make_clip(tmp_path / "c.m4v", ClipSpec(frames=6, gop=12, flags=flags, options=options))
    # pkdkit's index, also of a stream its decoder then refuses (interlaced: FFmpeg reads those).
    index = pkdkit._core.open(str(path))
    assert index.frame_types == ffmpeg_types(path)
    assert {k: index.header[k] for k in expected} == expected
    assert index.header["time_increment_resolution"] == 25
    assert (index.unsupported is None) == ("ildct" not in flags), index.unsupported


def test_packed_bitstream_flag_comes_from_user_data(tmp_path: Path) -> None:
    stream = make_clip(tmp_path / "bf1.m4v", ClipSpec(frames=5, gop=12, bf=1)).read_bytes()
    path = write_avi(tmp_path / "packed.avi", packed_frames(stream), 176, 144)
    assert pkdkit.open(path).header["packed_bitstream"] == 1
    assert pkdkit.open(tmp_path / "bf1.m4v").header["packed_bitstream"] == 0


@pytest.mark.parametrize("fmt", ["avi", "mp4"])
@pytest.mark.parametrize("audio_first", [True, False])
def test_video_stream_among_audio(tmp_path: Path, fmt: str, audio_first: bool) -> None:
    path = encode_with_audio(tmp_path / f"av.{fmt}", fmt, audio_first)
    video = assert_matches_ffmpeg(path, fmt)
    assert "B" in video.frame_types and video.num_gops > 1


def test_fragmented_mp4(tmp_path: Path) -> None:
    path = encode_with_audio(tmp_path / "frag.mp4", "mp4", False, {"movflags": "frag_keyframe+empty_moov"})
    assert b"moof" in path.read_bytes()
    video = assert_matches_ffmpeg(path, "mp4")
    assert video.num_gops > 1
    assert video.fps == pytest.approx(25.0)


@pytest.mark.parametrize(("bf", "vo_type"), [(1, None), (2, None), (2, 1), (1, 3)])
def test_low_delay_assumed_without_vol_control_parameters(tmp_path: Path, bf: int, vo_type: int | None) -> None:
    """Without vol_control_parameters FFmpeg assumes low delay for Simple/ASP objects and shows
    the first P-frame at once; the first B-VOP clears the flag, and that P-frame is shown a
    second time. Core objects (vo_type 3) are never low delay. Frame count and order follow."""
    stream = make_clip(tmp_path / "c.m4v", ClipSpec(frames=14, gop=12, bf=bf)).read_bytes()
    path = tmp_path / "no_vol_control.m4v"
    path.write_bytes(without_vol_control(stream, vo_type))
    video = assert_matches_ffmpeg(path, "m4v")
    original = pkdkit.open(tmp_path / "c.m4v")
    low_delay = vo_type in (None, 1)  # FFmpeg's ASP streams keep vo_type 17 (ASP) here
    assert video.num_frames == original.num_frames + (1 if low_delay else 0)
