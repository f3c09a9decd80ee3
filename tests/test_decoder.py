"""pkdkit's MPEG-4 Part 2 decoder against FFmpeg (through PyAV), frame by frame and vector by vector.

Every configuration encodes a short clip with FFmpeg's ``mpeg4`` encoder, decodes it with pkdkit
and with FFmpeg (one thread, ``export_mvs``), and requires every Y/U/V sample and every exported
motion vector field to be equal.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

import pkdkit
from pkdkit.errors import VideoError

from clips import ClipSpec, ffmpeg_frames, make_clip, render_frames
from ffmpeg_oracle import MV_FIELDS, assert_same_as_ffmpeg, planes_of

# FFmpeg's AVPictureType values (PyAV gives the integer).


def fixed_q(q: int, **kw) -> ClipSpec:
    """A clip at quantiser ``q`` everywhere (``qmin = qmax = q``; ClipSpec.qscale does not fix it)."""
    options = {"qmin": str(q), "qmax": str(q), **kw.pop("options", {})}
    return ClipSpec(qscale=None, options=options, **kw)


CONFIGS = {
    "default": ClipSpec(frames=16),
    "encoder_defaults_bitrate": ClipSpec(frames=16, qscale=None),
    "q1": fixed_q(1, frames=12),
    "q8": fixed_q(8, frames=12),
    "q31": fixed_q(31, frames=12),
    "mpeg_quant": ClipSpec(frames=12, options={"mpeg_quant": "1"}),
    "mv4": ClipSpec(frames=12, flags=("mv4",)),
    "aic": ClipSpec(frames=12, flags=("aic",)),
    "video_packets": ClipSpec(frames=12, options={"ps": "300"}),
    "adaptive_quant_dquant": ClipSpec(
        frames=12, qscale=None, options={"lumi_mask": "0.3", "p_mask": "0.3", "dark_mask": "0.2"}
    ),
    "rate_control_scene_cuts": ClipSpec(frames=24, qscale=None, scene_cut=True, cut_every=7),
    # rounding_type = 1 with 8-wide half-pel blocks: FFmpeg's x86 approximate no-rounding kernels.
    "masks_mv4_aic_vbr": ClipSpec(
        frames=24,
        qscale=None,
        flags=("aic", "mv4"),
        options={"lumi_mask": "0.3", "scplx_mask": "0.3", "p_mask": "0.3"},
    ),
    # MCBPC stuffing right before resync markers (and IntraQ/Inter4V codes that resemble it).
    "stuffing_before_resync_markers": ClipSpec(
        width=352,
        height=288,
        frames=36,
        qscale=None,
        flags=("aic",),
        scene_cut=True,
        cut_every=9,
        options={"lumi_mask": "0.6", "scplx_mask": "0.6", "tcplx_mask": "0.5", "dark_mask": "0.5", "ps": "500"},
    ),
    "size_340x256_q1_coviar": fixed_q(1, width=340, height=256, frames=12),
    "size_338x250_mv4": ClipSpec(width=338, height=250, frames=12, flags=("mv4",)),
    "size_338x250_all_tools": ClipSpec(
        width=338,
        height=250,
        frames=16,
        flags=("mv4", "aic"),
        options={"mpeg_quant": "1", "ps": "300"},
    ),
    "data_partitioning": ClipSpec(frames=12, options={"data_partitioning": "1", "ps": "300"}),
    "data_partitioning_dquant": ClipSpec(
        frames=8,
        qscale=None,
        options={"data_partitioning": "1", "ps": "300", "lumi_mask": "0.3", "p_mask": "0.3"},
    ),
    "data_partitioning_masks_352x288": ClipSpec(
        width=352,
        height=288,
        frames=24,
        qscale=None,
        flags=("aic", "mv4"),
        options={"data_partitioning": "1", "ps": "400", "lumi_mask": "0.5", "scplx_mask": "0.5"},
    ),
    "data_partitioning_338x250_all_tools": ClipSpec(
        width=338,
        height=250,
        frames=12,
        flags=("mv4", "aic"),
        options={"data_partitioning": "1", "ps": "300", "mpeg_quant": "1"},
    ),
    "size_720x528": ClipSpec(width=720, height=528, frames=6),
    "gop1": ClipSpec(frames=8, gop=1),
    "gop12": ClipSpec(frames=24, gop=12),
    "gop300": ClipSpec(frames=24, gop=300),
    "avi": ClipSpec(frames=12, container="avi", flags=("mv4",)),
    "mp4": ClipSpec(frames=12, container="mp4", flags=("mv4",)),
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_bit_exact_with_ffmpeg(tmp_path: Path, name: str) -> None:
    spec = CONFIGS[name]
    path = make_clip(tmp_path / spec.filename(name), spec)
    assert len(assert_same_as_ffmpeg(path)) == spec.frames


def test_frame_planes_are_handed_over_without_copy(tmp_path: Path) -> None:
    path = make_clip(tmp_path / "c.m4v", ClipSpec(frames=3, flags=("mv4",)))
    frame = list(pkdkit.open(path).frames())[1]
    y, u, v = frame.yuv
    for plane, shape in ((y, (144, 176)), (u, (72, 88)), (v, (72, 88))):
        assert plane.dtype == np.uint8 and plane.shape == shape
        assert plane.base is not None and not plane.flags.owndata
        assert plane.flags.c_contiguous
    mvs = frame.motion_vectors
    assert mvs.dtype.names == MV_FIELDS
    assert mvs.base is not None and not mvs.flags.owndata
    assert set(np.unique(mvs["w"])) <= {8, 16}


def test_streaming_holds_at_most_three_pictures(tmp_path: Path) -> None:
    spec = ClipSpec(width=64, height=48, frames=300, gop=300)
    path = make_clip(tmp_path / "long.m4v", spec)
    stream = pkdkit.open(path).frames()
    count = 0
    for frame in stream:
        count += 1
        assert stream.pictures_held <= 3  # two references (B-VOPs) + a recycled buffer
        del frame
    assert count == 300


@pytest.mark.parametrize(
    "options",
    [{}, {"ps": "300"}, {"ps": "300", "data_partitioning": "1"}],
    ids=["no_packets", "video_packets", "data_partitioning"],
)
def test_damaged_p_vops_are_concealed_and_reported(tmp_path: Path, options: dict[str, str]) -> None:
    spec = ClipSpec(frames=12, options=options)
    path = make_clip(tmp_path / "d.m4v", spec)
    data = bytearray(path.read_bytes())
    vops = [i for i in range(len(data) - 4) if data[i : i + 4] == b"\x00\x00\x01\xb6"]
    rng = np.random.default_rng(1)
    damaged_vops = vops[3:9:2]
    for start in damaged_vops:
        for offset in rng.integers(start + 12, start + 200, 6):
            data[offset] ^= 0x5A
    bad = tmp_path / "bad.m4v"
    bad.write_bytes(bytes(data))
    try:
        frames = list(pkdkit.open(bad).frames())
    except VideoError:
        pytest.fail("damage inside macroblock data must be concealed, not raised")
    assert len(frames) == spec.frames
    assert not any(f.damaged for f in frames[:3])
    assert any(f.damaged for f in frames[3:])
    for f in frames:
        assert f.yuv[0].shape == (144, 176)


def _resync_markers(vop: bytes, mb_num_bits: int) -> list[tuple[int, int]]:
    """(byte offset, first macroblock) of the byte-aligned video packet headers in a B-VOP with
    f_codes of 1 or 2 (resync marker: 17 zeros and a one)."""
    out = []
    for at in range(5, len(vop) - 4):
        if vop[at] == 0 and vop[at + 1] == 0 and vop[at + 2] >> 6 == 0b01:
            bits = "".join(f"{b:08b}" for b in vop[at + 2 : at + 5])
            out.append((at, int(bits[2 : 2 + mb_num_bits], 2)))
    return out


def _same_macroblocks(a: np.ndarray, b: np.ndarray, size: int) -> np.ndarray:
    """Per macroblock (raster order), whether the ``size`` x ``size`` blocks of two planes are equal."""
    h, w = a.shape
    same = (a == b).reshape(h // size, size, w // size, size).all(axis=(1, 3))
    return same.reshape(-1)


def test_a_damaged_b_vop_resyncs_at_the_next_video_packet(tmp_path: Path) -> None:
    # FFmpeg's encoder writes video packets of about 200 bytes in every VOP type (-ps 200).
    spec = ClipSpec(width=352, height=288, frames=12, bf=2, qscale=3, options={"ps": "200"})
    path = make_clip(tmp_path / "b.m4v", spec)
    data = path.read_bytes()
    vops = [i for i in range(len(data) - 4) if data[i : i + 4] == b"\x00\x00\x01\xb6"]
    first_b = next(k for k, at in enumerate(vops) if data[at + 4] >> 6 == 2)
    start, end = vops[first_b], vops[first_b + 1]
    total_mbs = (352 // 16) * (288 // 16)
    markers = _resync_markers(data[start:end], (total_mbs - 1).bit_length())
    assert len(markers) >= 3, markers
    # Overwrite the middle of the B-VOP's second packet with 0xFF (no valid macroblock syntax,
    # no start code, no resync marker): the packet fails to parse.
    (second_at, second_mb), (third_at, third_mb) = markers[0], markers[1]
    bad = bytearray(data)
    bad[start + second_at + 40 : start + third_at - 10] = b"\xff" * (third_at - second_at - 50)
    bad_path = tmp_path / "bad.m4v"
    bad_path.write_bytes(bytes(bad))

    clean = list(pkdkit.open(path).frames())
    damaged = list(pkdkit.open(bad_path).frames())
    ffmpeg_damaged = [planes_of(f) for f in ffmpeg_frames(bad_path)]
    assert len(damaged) == len(clean) == len(ffmpeg_damaged) == spec.frames
    b_index = 1  # the first B-VOP in decode order is displayed second
    assert damaged[b_index].frame_type == "B"
    for k, (c, d) in enumerate(zip(clean, damaged)):
        if k != b_index:
            assert d.damaged_mbs == 0
            assert all(np.array_equal(x, y) for x, y in zip(c.yuv, d.yuv)), k
    frame = damaged[b_index]
    # Only the damaged packet is concealed: from its damage up to the next packet's first MB.
    assert 0 < frame.damaged_mbs <= third_mb - second_mb, frame.damaged_mbs
    for plane, (mine, good, theirs) in enumerate(zip(frame.yuv, clean[b_index].yuv, ffmpeg_damaged[b_index])):
        size = 16 if plane == 0 else 8
        same_as_clean = _same_macroblocks(mine, good, size)
        same_as_ffmpeg = _same_macroblocks(mine, theirs, size)
        # Before the damaged packet and from the next packet on: the undamaged pixels, which is
        # also what FFmpeg decodes from the damaged file (it resyncs at the same packet).
        assert same_as_clean[:second_mb].all() and same_as_clean[third_mb:].all(), plane
        assert same_as_ffmpeg[:second_mb].all() and same_as_ffmpeg[third_mb:].all(), plane
        assert not same_as_clean[second_mb:third_mb].all(), plane


def test_truncated_stream_never_escapes_other_than_video_error(tmp_path: Path) -> None:
    path = make_clip(tmp_path / "t.m4v", ClipSpec(frames=6))
    data = path.read_bytes()
    for cut in (len(data) // 3, len(data) // 2, len(data) - 7):
        short = tmp_path / f"cut{cut}.m4v"
        short.write_bytes(data[:cut])
        try:
            frames = list(pkdkit.open(short).frames())
        except VideoError:
            continue
        assert all(f.yuv[0].shape == (144, 176) for f in frames)


def decode_with_ffmpeg_idct(path: Path, idct: str) -> list:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "NONE"
        stream.codec_context.options = {"idct": idct}
        return list(container.decode(stream))


@pytest.mark.parametrize("idct", ["simple", "xvid"])
def test_idct_override_matches_ffmpeg_option(tmp_path: Path, idct: str) -> None:
    path = make_clip(tmp_path / "i.m4v", fixed_q(1, frames=6))
    ours = list(pkdkit.open(path).frames(idct=idct))
    theirs = decode_with_ffmpeg_idct(path, idct)
    assert len(ours) == len(theirs) == 6
    for a, b in zip(ours, theirs):
        for got, want in zip(a.yuv, planes_of(b)):
            assert np.array_equal(got, want)
    # The two IDCTs really differ on this clip, so the comparison above is not vacuous.
    auto = list(pkdkit.open(path).frames())
    assert any(not np.array_equal(x.yuv[0], s.yuv[0]) for x, s in zip(ours, auto)) == (idct == "xvid")


def test_unknown_idct_is_refused(tmp_path: Path) -> None:
    path = make_clip(tmp_path / "i.m4v", ClipSpec(frames=2))
    with pytest.raises(ValueError, match="idct"):
        pkdkit.open(path).frames(idct="jpeg")


def not_coded_vop(vop: bytes, time_increment_bits: int) -> bytes:
    """The same VOP header with ``vop_coded = 0``: start code, type, time stamp, then stuffing."""
    bits = "".join(f"{b:08b}" for b in vop[4:16])
    pos = 2
    while bits[pos] == "1":  # modulo_time_base
        pos += 1
    pos += 1 + 1 + time_increment_bits + 1  # its 0, marker, vop_time_increment, marker
    head = bits[:pos] + "0" + "0"  # vop_coded = 0, then next_start_code() stuffing
    head += "1" * (-len(head) % 8)
    return vop[:4] + bytes(int(head[i : i + 8], 2) for i in range(0, len(head), 8))


@pytest.mark.parametrize("which", ["middle", "last"])
def test_not_coded_vop_follows_ffmpeg(tmp_path: Path, which: str) -> None:
    """FFmpeg outputs no frame for a VOP with vop_coded = 0 (but repeats the last picture at the end)."""
    path = make_clip(tmp_path / "n.m4v", ClipSpec(frames=10, gop=300))
    data = path.read_bytes()
    starts = [i for i in range(len(data) - 3) if data[i : i + 4] == b"\x00\x00\x01\xb6"] + [len(data)]
    k = 4 if which == "middle" else len(starts) - 2  # a P-VOP; 25 fps -> 5 time increment bits
    patched = data[: starts[k]] + not_coded_vop(data[starts[k] : starts[k + 1]], 5) + data[starts[k + 1] :]
    out = tmp_path / "n_skip.m4v"
    out.write_bytes(patched)
    n = len(ffmpeg_frames(out))
    assert n == (9 if which == "middle" else 10)
    assert len(assert_same_as_ffmpeg(out)) == n


def test_frame_range_starts_at_the_gop_and_matches_full_decode(tmp_path: Path) -> None:
    path = make_clip(tmp_path / "r.m4v", ClipSpec(frames=30, gop=12, flags=("mv4",)))
    video = pkdkit.open(path)
    full = list(video.frames())
    part = list(video.frames(14, 27))
    assert [f.index for f in part] == list(range(14, 27))
    for a, b in zip(part, full[14:27]):
        assert a.frame_type == b.frame_type
        assert all(np.array_equal(x, y) for x, y in zip(a.yuv, b.yuv))
        assert np.array_equal(a.motion_vectors, b.motion_vectors)
    assert list(video.frames(28)) and [f.index for f in video.frames(28)] == [28, 29]
    with pytest.raises(ValueError, match="start"):
        video.frames(-1)


def test_xvid_user_data_selects_the_xvid_idct_like_ffmpeg(tmp_path: Path) -> None:
    path = make_clip(tmp_path / "x.m4v", fixed_q(1, frames=6))
    data = path.read_bytes()
    at = data.index(b"\x00\x00\x01\xb2")  # FFmpeg's "Lavc..." user data
    end = data.index(b"\x00\x00\x01", at + 4)
    xvid = tmp_path / "xvid.m4v"
    xvid.write_bytes(data[:at] + b"\x00\x00\x01\xb2XviD0064" + data[end:])
    assert len(assert_same_as_ffmpeg(xvid)) == 6
    simple = list(pkdkit.open(xvid).frames(idct="simple"))
    theirs = ffmpeg_frames(xvid)
    assert any(not np.array_equal(a.yuv[0], planes_of(b)[0]) for a, b in zip(simple, theirs))


def test_xvid_fourcc_without_encoder_user_data_selects_the_xvid_idct(tmp_path: Path) -> None:
    spec = fixed_q(1, frames=6)
    path = tmp_path / "tag.avi"
    with av.open(str(path), "w", format="avi") as out:
        stream = out.add_stream("mpeg4", rate=Fraction(25, 1))
        stream.width, stream.height, stream.pix_fmt = spec.width, spec.height, "yuv420p"
        stream.codec_tag = "XVID"
        stream.options = {"qmin": "1", "qmax": "1"}
        for img in render_frames(spec):
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    # Hide the "Lavc" user data (same length) so only the container tag names an encoder.
    path.write_bytes(path.read_bytes().replace(b"Lavc", b"Zzzz"))
    assert len(assert_same_as_ffmpeg(path)) == 6
    simple = list(pkdkit.open(path).frames(idct="simple"))
    assert any(not np.array_equal(a.yuv[0], planes_of(b)[0]) for a, b in zip(simple, ffmpeg_frames(path)))
