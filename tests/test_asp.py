"""Advanced Simple Profile: B-VOPs and quarter-sample motion compensation against FFmpeg.

Each configuration encodes a short clip with FFmpeg's ``mpeg4`` encoder (B-frames, ``+qpel``,
``mpeg_quant``), decodes it with pkdkit and with FFmpeg (one thread, ``export_mvs``) and requires
every Y/U/V sample of every frame (display order) and every exported vector field to be equal. For
B-frames FFmpeg exports one entry per block and direction (source -1 forward, +1 backward) with
motion 0 (its MPEG-4 decoder never stores B-frame vectors); pkdkit exports exactly the same.
Features pkdkit does not decode (interlaced data partitioning) must be refused with a clear error.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from handmade import packed_frames, paired_frames, write_avi

import pkdkit

from clips import ClipSpec, ffmpeg_frames, make_clip
from ffmpeg_oracle import assert_same_as_ffmpeg, planes_of

ASP = {"mpeg_quant": "1"}
CONFIGS = {
    "bf1": ClipSpec(frames=12, bf=1),
    "bf2": ClipSpec(frames=16, bf=2),
    "bf2_mv4": ClipSpec(frames=16, bf=2, flags=("mv4",)),
    "qpel_p_only": ClipSpec(frames=10, flags=("qpel",)),
    "qpel_mv4_p_only": ClipSpec(frames=10, flags=("qpel", "mv4")),
    "bf1_qpel_mpeg_quant": ClipSpec(frames=16, bf=1, flags=("qpel",), options=ASP),
    "bf2_qpel_mpeg_quant": ClipSpec(frames=16, bf=2, flags=("qpel",), options=ASP),
    "bf2_qpel_mv4_mpeg_quant": ClipSpec(frames=16, bf=2, flags=("qpel", "mv4"), options=ASP),
    "bf3": ClipSpec(frames=12, bf=3),
    "bf2_dquant_qpel_mv4": ClipSpec(
        frames=16,
        bf=2,
        qscale=None,
        flags=("qpel", "mv4"),
        options={"lumi_mask": "0.3", "p_mask": "0.3", "dark_mask": "0.2", **ASP},
    ),
    "bf2_rate_control_scene_cuts": ClipSpec(frames=30, bf=2, qscale=None, scene_cut=True, cut_every=7),
    "bf2_338x250_all_tools": ClipSpec(
        width=338,
        height=250,
        frames=12,
        bf=2,
        flags=("mv4", "aic", "qpel"),
        options={"ps": "300", **ASP},
    ),
    "bf2_video_packets_352x288_q1": ClipSpec(
        width=352, height=288, frames=9, bf=2, qscale=1, flags=("qpel", "mv4"), options={"ps": "100"}
    ),
    "bf2_data_partitioning": ClipSpec(frames=12, bf=2, options={"data_partitioning": "1", "ps": "300"}),
    "bf2_q1": ClipSpec(frames=12, bf=2, qscale=1),
    "bf2_q31": ClipSpec(frames=12, bf=2, qscale=31),
    "bf2_gop300_qpel": ClipSpec(frames=40, bf=2, gop=300, flags=("qpel",)),
    "bf2_avi": ClipSpec(frames=12, bf=2, container="avi", flags=("qpel",)),
    "bf2_mp4": ClipSpec(frames=12, bf=2, container="mp4", flags=("qpel",)),
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_asp_bit_exact_with_ffmpeg(tmp_path: Path, name: str) -> None:
    spec = CONFIGS[name]
    path = make_clip(tmp_path / spec.filename(name), spec)
    types = assert_same_as_ffmpeg(path)
    assert len(types) == spec.frames
    assert ("B" in types) == (spec.bf > 0)


def test_b_frames_use_all_prediction_modes(tmp_path: Path) -> None:
    """The clips really exercise forward, backward and bidirectional B macroblocks (not only skips)."""
    spec = CONFIGS["bf2_qpel_mpeg_quant"]
    path = make_clip(tmp_path / "modes.m4v", spec)
    b_frames = [f for f in pkdkit.open(path).frames() if f.frame_type == "B"]
    assert b_frames
    # Per MB: one entry per direction used; forward-only, backward-only and both all occur.
    counts = {"fwd": 0, "bwd": 0, "both": 0}
    for f in b_frames:
        mvs = f.motion_vectors
        for x, y in set(zip(mvs["dst_x"].tolist(), mvs["dst_y"].tolist())):
            at = mvs[(mvs["dst_x"] == x) & (mvs["dst_y"] == y)]["source"]
            counts["both" if len(set(at)) == 2 else "fwd" if at[0] < 0 else "bwd"] += 1
    assert all(counts.values()), counts


def test_frame_range_with_b_frames_matches_full_decode(tmp_path: Path) -> None:
    path = make_clip(tmp_path / "r.m4v", ClipSpec(frames=30, gop=12, bf=2, flags=("qpel",)))
    video = pkdkit.open(path)
    full = list(video.frames())
    for start in (5, 11, 13):
        part = list(video.frames(start, 27))
        assert [f.index for f in part] == list(range(start, 27))
        for a, b in zip(part, full[start:27]):
            assert a.frame_type == b.frame_type
            assert all(np.array_equal(x, y) for x, y in zip(a.yuv, b.yuv))


def test_streaming_with_b_frames_holds_at_most_three_pictures(tmp_path: Path) -> None:
    path = make_clip(tmp_path / "s.m4v", ClipSpec(width=64, height=48, frames=60, gop=300, bf=2))
    stream = pkdkit.open(path).frames()
    count = 0
    for _ in stream:
        count += 1
        assert stream.pictures_held <= 3
    assert count == 60


def test_interlaced_data_partitioning_is_refused_by_name(tmp_path: Path) -> None:
    spec = ClipSpec(frames=4, flags=("ildct", "ilme"), options={"data_partitioning": "1", "ps": "300"})
    path = make_clip(tmp_path / "i.m4v", spec)
    with pytest.raises(pkdkit.UnsupportedCodecError, match="interlaced video with data partitioning"):
        pkdkit.open(path, backend="native")  # refused at indexing, before decoding anything


@pytest.mark.parametrize("user_data", [b"XviD0064", b"XviD0050", b"XviD0001"])
def test_xvid_style_asp_stream_with_the_xvid_idct(tmp_path: Path, user_data: bytes) -> None:
    """B-frames + qpel + MPEG quant with XviD's user data: FFmpeg (and pkdkit) switch to the XviD IDCT."""
    spec = ClipSpec(frames=16, bf=2, flags=("qpel",), options={**ASP, "qmin": "2", "qmax": "2"}, qscale=None)
    path = make_clip(tmp_path / "lavc.m4v", spec)
    data = path.read_bytes()
    at = data.index(b"\x00\x00\x01\xb2")  # FFmpeg's "Lavc..." user data
    end = data.index(b"\x00\x00\x01", at + 4)
    xvid = tmp_path / "xvid.m4v"
    xvid.write_bytes(data[:at] + b"\x00\x00\x01\xb2" + user_data + data[end:])
    assert "B" in assert_same_as_ffmpeg(xvid)
    simple = list(pkdkit.open(xvid).frames(idct="simple"))
    assert any(not np.array_equal(a.yuv[0], planes_of(b)[0]) for a, b in zip(simple, ffmpeg_frames(xvid)))


@pytest.mark.parametrize("layout", ["divx", "pairs"])
@pytest.mark.parametrize(("bf", "flags"), [(1, ()), (1, ("qpel",)), (2, ("qpel",))])
def test_packed_bitstream_avi_decodes_like_ffmpeg(tmp_path: Path, layout: str, bf: int, flags: tuple[str, ...]) -> None:
    """DivX-style packed B-frames in a hand-built AVI (a reference VOP and a B-VOP in one chunk, then
    an N-VOP chunk; or blind pairs). The 'DivX503b1393p' user data also switches FFmpeg to DivX 5's
    quarter-sample chroma rounding (its FF_BUG_QPEL_CHROMA2), which pkdkit follows."""
    stream = make_clip(tmp_path / "s.m4v", ClipSpec(frames=13, gop=12, bf=bf, flags=flags)).read_bytes()
    frames = packed_frames(stream) if layout == "divx" else paired_frames(stream)
    path = write_avi(tmp_path / "packed.avi", frames, 176, 144)
    assert "B" in assert_same_as_ffmpeg(path)
