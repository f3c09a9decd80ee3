"""Files as real encoders and remuxers write them, decoded natively and compared with FFmpeg.

Debian's ``ffmpeg`` (built with libxvid) writes the clips: XviD AVIs with packed B-frames over
several GOPs (placeholder VOPs typed I or P between packed pairs), AVIs and MP4s whose VOL header
is only in the container's codec configuration (``strf`` extradata, ``esds``), and Matroska.
pkdkit must read them without falling back to FFmpeg (``fallback=False``), with FFmpeg's frame
count and every sample of every plane equal (``assert_same_as_ffmpeg`` also checks frame types and
the exported vectors).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import av
import pytest
from handmade import bitmapinfoheader, split_vops, write_mkv
from mutation_loop import run_mutation_loop

import pkdkit

from ffmpeg_oracle import assert_same_as_ffmpeg

FFMPEG = shutil.which("ffmpeg")
pytestmark = pytest.mark.skipif(
    FFMPEG is None, reason="needs the ffmpeg command (Debian's, with libxvid); .ci/run installs it"
)

XVID = ["-c:v", "libxvid", "-vtag", "XVID", "-q:v", "4"]
VOL = b"\x00\x00\x01\x20"


def ffmpeg(*args: str | Path) -> None:
    """Run the ffmpeg command quietly; a failure shows its message."""
    done = subprocess.run(
        [FFMPEG, "-v", "error", "-y", *map(str, args)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]


def encode(out: Path, codec: list[str], size: str = "176x144", frames: int = 24) -> Path:
    """Encode ``frames`` of FFmpeg's ``testsrc2`` pattern (moving, textured) with ``codec``."""
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25", "-frames:v", frames, *codec, out)
    return out


PACKED = {
    "bf2": ["-bf", "2"],
    "bf2_qpel": ["-bf", "2", "-flags", "+qpel"],
    "bf2_mpeg_quant_trellis_rd_mv4": ["-bf", "2", "-mpeg_quant", "1", "-trellis", "1", "-mbd", "rd", "-flags", "+mv4"],
    "bf1": ["-bf", "1"],
}


@pytest.mark.parametrize("name", list(PACKED))
def test_xvid_packed_b_frames_over_several_gops(tmp_path: Path, name: str) -> None:
    """libxvid packs each reference VOP with the B-VOP after it and writes a placeholder chunk,
    typed I at a GOP start: FFmpeg decodes the kept B-VOP there and never the placeholder."""
    path = encode(tmp_path / f"{name}.avi", [*XVID, "-g", "10", *PACKED[name]])
    types = assert_same_as_ffmpeg(path)
    assert types.count("I") >= 3 and "B" in types, types


def test_xvid_packed_b_frames_at_an_odd_size(tmp_path: Path) -> None:
    path = encode(tmp_path / "odd.avi", [*XVID, "-g", "8", "-bf", "2"], size="350x198", frames=20)
    types = assert_same_as_ffmpeg(path)
    assert types.count("I") >= 2 and "B" in types


def test_xvid_remuxed_to_mp4_decodes_like_ffmpeg(tmp_path: Path) -> None:
    """The same packed stream copied into MP4 (FFmpeg keeps the packing, VOL also in ``esds``)."""
    avi = encode(tmp_path / "x.avi", [*XVID, "-g", "10", "-bf", "2"])
    mp4 = tmp_path / "x.mp4"
    ffmpeg("-i", avi, "-c:v", "copy", mp4)
    assert_same_as_ffmpeg(mp4)


@pytest.mark.parametrize("tag", ["FMP4", "XVID", "DIVX"])
def test_avi_with_the_vol_only_in_the_stream_format(tmp_path: Path, tag: str) -> None:
    """An MP4 with global headers copied into AVI: the VOL is only in ``strf``'s extra bytes."""
    mp4 = encode(tmp_path / "in.mp4", ["-c:v", "mpeg4", "-bf", "2", "-g", "10", "-q:v", "5"], frames=20)
    avi = tmp_path / "out.avi"
    ffmpeg("-i", mp4, "-c:v", "copy", "-vtag", tag, avi)
    data = avi.read_bytes()
    assert data.count(VOL) == 1 and data.index(VOL) < data.index(b"movi")  # only in the header list
    assert_same_as_ffmpeg(avi)
    assert_same_as_ffmpeg(mp4)


def packets_of(path: Path) -> list[bytes]:
    """The video packets of ``path`` as FFmpeg's demuxer hands them to the decoder."""
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(container.streams.video[0]) if p.size]


def test_matroska_from_ffmpeg_with_b_frames(tmp_path: Path) -> None:
    """FFmpeg's Matroska muxer: V_MPEG4/ISO/ASP, the VOL only in CodecPrivate."""
    mp4 = encode(tmp_path / "in.mp4", ["-c:v", "mpeg4", "-bf", "2", "-g", "10", "-q:v", "5", "-flags", "+qpel"])
    mkv = tmp_path / "out.mkv"
    ffmpeg("-i", mp4, "-c:v", "copy", mkv)
    assert pkdkit.open(mkv, fallback=False).container == "mkv"
    types = assert_same_as_ffmpeg(mkv)
    assert types.count("I") >= 2 and "B" in types


def test_matroska_written_by_libxvid(tmp_path: Path) -> None:
    mkv = encode(tmp_path / "xvid.mkv", ["-c:v", "libxvid", "-bf", "0", "-g", "10", "-q:v", "3"])
    assert_same_as_ffmpeg(mkv)


def test_matroska_vfw_track_with_packed_xvid(tmp_path: Path) -> None:
    """An XviD AVI's chunks (packed B-frames, placeholders) in a V_MS/VFW/FOURCC track, as
    remuxers that keep the AVI's codec set-up write them."""
    avi = encode(tmp_path / "x.avi", [*XVID, "-g", "10", "-bf", "2"])
    mkv = write_mkv(
        tmp_path / "vfw.mkv", "V_MS/VFW/FOURCC", bitmapinfoheader(176, 144, b"XVID"), packets_of(avi), 176, 144
    )
    types = assert_same_as_ffmpeg(mkv)
    assert types == pkdkit.open(avi).frame_types and "B" in types


@pytest.mark.parametrize("lacing", ["xiph", "ebml"])
def test_matroska_laced_blocks(tmp_path: Path, lacing: str) -> None:
    """Three VOPs per SimpleBlock, laced: FFmpeg splits the lace into packets, so must pkdkit."""
    m4v = encode(tmp_path / "s.m4v", ["-c:v", "mpeg4", "-bf", "1", "-g", "6", "-q:v", "4", "-f", "m4v"], frames=13)
    headers, vops = split_vops(m4v.read_bytes())
    mkv = write_mkv(tmp_path / f"{lacing}.mkv", "V_MPEG4/ISO/ASP", headers, vops, 176, 144, lacing, per_block=3)
    types = assert_same_as_ffmpeg(mkv)
    assert len(types) == 13 and "B" in types


@pytest.mark.parametrize("kind", ["packed_avi", "mkv"])
def test_mutated_real_files_never_crash_or_hang(tmp_path: Path, kind: str) -> None:
    """The corruption loop of ``test_asp_corruption`` on a packed multi-GOP XviD AVI and on a
    Matroska file: only ``VideoError`` may come out, in a child process with a time limit."""
    if kind == "packed_avi":
        path = encode(tmp_path / "p.avi", [*XVID, "-g", "5", "-bf", "2", "-flags", "+qpel"], size="96x64", frames=12)
    else:
        mp4 = encode(tmp_path / "m.mp4", ["-c:v", "mpeg4", "-bf", "2", "-g", "5", "-q:v", "4"], size="96x64", frames=12)
        path = tmp_path / "m.mkv"
        ffmpeg("-i", mp4, "-c:v", "copy", path)
    runs = 90
    outcomes = run_mutation_loop(path, seed=11, runs=runs)
    assert outcomes["ok"] > 0 and outcomes["error"] > 0
