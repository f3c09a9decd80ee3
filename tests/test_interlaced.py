"""Interlaced MPEG-4 (FFmpeg's encoder, ``-flags +ildct+ilme``) decoded natively, bit-exact with FFmpeg.

Clips are written by Debian's ``ffmpeg`` from really interlaced lavfi content (two 50 Hz pictures
woven into each frame), so the encoder chooses field DCT and field motion vectors for many
macroblocks; each is decoded by pkdkit (``fallback=False``) and by FFmpeg through PyAV, and every
plane of every frame, the frame count and the exported vectors (field MBs export two 16x8 entries)
must be equal. B-VOPs cover field vectors in every direction and interlaced direct mode (field
vectors of the co-located MB scaled by field distances, top or bottom field first).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from mutation_loop import run_mutation_loop

import pkdkit

from clips import ClipSpec, make_clip
from ffmpeg_oracle import assert_same_as_ffmpeg

pytestmark = pytest.mark.skipif(
    shutil.which("ffmpeg") is None, reason="needs the ffmpeg program to write interlaced clips"
)

WOVEN = "testsrc2=size={w}x{h2}:rate=50,tinterlace=mode=interleave_top,noise=alls=8:allf=t,scale={w}:{h}"

# name: (width, height, frames, extra ffmpeg arguments)
CLIPS = {
    "field_dct_and_mvs": (176, 144, 12, ["-flags", "+ildct+ilme"]),
    "field_dct_only": (176, 144, 10, ["-flags", "+ildct"]),
    "alternate_scan": (176, 144, 10, ["-flags", "+ildct+ilme", "-alternate_scan", "1"]),
    "mv4_rd_odd_size": (208, 120, 12, ["-flags", "+ildct+ilme+mv4", "-mbd", "rd"]),
    "bottom_field_first_q2": (176, 144, 10, ["-flags", "+ildct+ilme", "-top", "0", "-q:v", "2"]),
    "video_packets_mpeg_quant": (176, 144, 10, ["-flags", "+ildct+ilme", "-ps", "200", "-mpeg_quant", "1"]),
    "bf1": (176, 144, 13, ["-flags", "+ildct+ilme", "-bf", "1"]),
    "bf2": (176, 144, 16, ["-flags", "+ildct+ilme", "-bf", "2", "-top", "1"]),
    "bf2_bottom_field_first": (176, 144, 16, ["-flags", "+ildct+ilme", "-bf", "2", "-top", "0"]),
    "bf2_mv4_rd_odd_size_packets": (
        208,
        120,
        16,
        ["-flags", "+ildct+ilme+mv4", "-bf", "2", "-mbd", "rd", "-ps", "300"],
    ),
    "qpel_p_only": (176, 144, 10, ["-flags", "+ildct+ilme+qpel"]),
    "bf2_qpel_mv4_top_first": (176, 144, 16, ["-flags", "+ildct+ilme+qpel+mv4", "-bf", "2", "-top", "1"]),
    "bf2_qpel_mpeg_quant_odd_size_packets": (
        208,
        120,
        16,
        ["-flags", "+ildct+ilme+qpel+mv4", "-bf", "2", "-mpeg_quant", "1", "-ps", "300", "-q:v", "3"],
    ),
    "bf3_alternate_scan_q8": (176, 144, 16, ["-flags", "+ildct+ilme", "-bf", "3", "-alternate_scan", "1", "-q:v", "8"]),
}


def encode(path: Path, name: str) -> Path:
    w, h, frames, extra = CLIPS[name]
    source = WOVEN.format(w=w, h=h, h2=2 * h)
    cmd = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", source, "-frames:v", str(frames), "-c:v", "mpeg4"]
    cmd += ["-q:v", "4", "-g", "100", "-bf", "0", *extra, str(path)]
    subprocess.run(cmd, check=True, capture_output=True)
    return path


@pytest.mark.parametrize("name", list(CLIPS))
def test_interlaced_video_is_bit_exact_with_ffmpeg(tmp_path: Path, name: str) -> None:
    path = encode(tmp_path / f"{name}.avi", name)
    types = assert_same_as_ffmpeg(path)
    if "bf" in name:
        assert "B" in types and len(types) == CLIPS[name][2]
    else:
        assert types == "I" + "P" * (CLIPS[name][2] - 1)


@pytest.mark.parametrize("name", ["field_dct_and_mvs", "bf2"])
def test_field_vectors_really_occur(tmp_path: Path, name: str) -> None:
    """The woven content makes the encoder pick field prediction: 16x8 vector entries appear in
    P- and (with B-frames) in B-frames."""
    path = encode(tmp_path / "f.avi", name)
    halves = {"P": 0, "B": 0}
    for f in pkdkit.open(path, fallback=False).frames():
        if f.frame_type in halves:
            halves[f.frame_type] += int((f.motion_vectors["h"] == 8).sum())
    assert halves["P"] > 20
    assert (halves["B"] > 20) == ("B" in name.upper())


@pytest.mark.parametrize("flags", [("ildct",), ("ildct", "ilme")])
def test_interlaced_clips_from_pyav(tmp_path: Path, flags: tuple[str, ...]) -> None:
    path = make_clip(tmp_path / "i.m4v", ClipSpec(frames=8, flags=flags))
    assert len(assert_same_as_ffmpeg(path)) == 8


def test_mutated_interlaced_streams_never_crash_or_hang(tmp_path: Path) -> None:
    path = encode(tmp_path / "m.avi", "bf2_mv4_rd_odd_size_packets")
    run_mutation_loop(path, seed=21, runs=100)
