"""Damaged containers decode up to the damage as FFmpeg does: a cut AVI or MP4 (also an MP4
whose sample tables, written first, point past the cut), and an AVI chunk whose size lies.

The oracle is FFmpeg through PyAV, read the way the ``ffmpeg`` tool reads a damaged file: demux
until the demuxer gives up, decode each packet, go on after a packet that fails to decode. The
frame count must equal FFmpeg's, every frame before the damage must be bit-exact, and the
frame cut by the end of the file is reported damaged.

One thing is left out on purpose: a packet that holds only the first few bytes of a VOP (a cut
fewer than ``TINY_REMNANT`` bytes into it, or a chunk size lying it down to a handful of bytes).
There FFmpeg's answer depends on how its bit reader runs over the end of the packet: it reads a
missing ``vop_coded`` bit as 0 and repeats the last frame, or drops a picture it can decode
almost nothing of (a 7-byte P-VOP) while keeping one of 13 bytes. pkdkit drops a VOP whose header
is cut and keeps one whose header is whole, so its count may differ by one there.
"""

from __future__ import annotations

import struct
from pathlib import Path

import av
import numpy as np
import pytest
from handmade import encode_with_audio

import pkdkit

from clips import ClipSpec, make_clip

TINY_REMNANT = 24  # bytes of a cut VOP (start code included) below which FFmpeg's count is not modelled


def ffmpeg_decode(path: Path) -> list[av.VideoFrame]:
    """Every frame FFmpeg gets out of a damaged file, going on after packets that fail."""
    frames: list[av.VideoFrame] = []
    try:
        container = av.open(str(path))
    except av.FFmpegError:
        return frames
    with container:
        if not container.streams.video:
            return frames
        packets = container.demux(container.streams.video[0])
        while True:
            try:
                packet = next(packets)
            except (StopIteration, av.FFmpegError):
                break
            try:
                frames.extend(packet.decode())
            except av.FFmpegError:
                continue
    return frames


def planes(frame: av.VideoFrame) -> list[np.ndarray]:
    out = []
    for plane in frame.planes:
        rows = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
        out.append(rows[:, : plane.width])
    return out


def packet_spans(path: Path) -> list[tuple[int, int]]:
    """(first byte, end) of each video packet's payload in an intact file, from FFmpeg."""
    with av.open(str(path)) as container:
        spans = []
        for packet in container.demux(container.streams.video[0]):
            if packet.size:
                spans.append((packet.pos, packet.pos + packet.size))
    return spans


def vop_starts(path: Path) -> list[int]:
    """Where the VOP start code of each video packet is (headers may come before it)."""
    data = path.read_bytes()
    return [start + max(0, data.find(b"\x00\x00\x01\xb6", start, end) - start) for start, end in packet_spans(path)]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """An AVI with B-frames, an MP4 with its sample tables before the data ('faststart'), a
    fragmented MP4 and an AVI whose audio chunks come first (both with audio)."""
    d = tmp_path_factory.mktemp("damage")
    avi = make_clip(d / "clip.avi", ClipSpec(176, 144, frames=30, gop=10, bf=1, container="avi"))
    plain = make_clip(d / "plain.mp4", ClipSpec(176, 144, frames=30, gop=10, container="mp4"))
    faststart = d / "faststart.mp4"
    with av.open(str(plain)) as src, av.open(str(faststart), "w", options={"movflags": "faststart"}) as out:
        stream = out.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    assert faststart.read_bytes().index(b"moov") < faststart.read_bytes().index(b"mdat")
    fragmented = encode_with_audio(d / "fragmented.mp4", "mp4", False, {"movflags": "frag_keyframe+empty_moov"})
    with_audio = encode_with_audio(d / "audio.avi", "avi", True)
    return {"avi": avi, "mp4": faststart, "fragmented-mp4": fragmented, "avi-with-audio": with_audio}


def assert_decodes_like_ffmpeg(path: Path, original: Path) -> None:
    """Same frame count as FFmpeg, and bit-exact on the intact frames: those FFmpeg decodes
    from the damaged file exactly as from the ``original`` (after the damage each decoder's
    concealment is its own, and FFmpeg's sometimes spoils a frame pkdkit still reads whole)."""
    theirs = ffmpeg_decode(path)
    if not theirs:
        with pytest.raises(pkdkit.VideoError):
            list(pkdkit.open(path).frames())
        return
    video = pkdkit.open(path)
    ours = list(video.frames())
    assert video.num_frames == len(ours) == len(theirs), path.name
    for k, (a, b, c) in enumerate(zip(ours, theirs, ffmpeg_decode(original))):
        want = planes(b)
        if not all(np.array_equal(x, y) for x, y in zip(want, planes(c))):
            break
        for got, plane in zip(a.yuv, want):
            assert np.array_equal(got, plane), f"{path.name}: frame {k} differs from FFmpeg's"


@pytest.mark.parametrize("container", ["avi", "mp4", "fragmented-mp4", "avi-with-audio"])
def test_cut_at_every_percent_decodes_like_ffmpeg(tmp_path: Path, files: dict[str, Path], container: str) -> None:
    data = files[container].read_bytes()
    spans = packet_spans(files[container])
    vops = vop_starts(files[container])
    cut = tmp_path / f"cut{files[container].suffix}"
    intact = [f.damaged_mbs for f in pkdkit.open(files[container]).frames()]
    compared = 0
    for percent in range(1, 100):
        n = len(data) * percent // 100
        if any(start <= n < vop + TINY_REMNANT for (start, _), vop in zip(spans, vops)):
            continue
        cut.write_bytes(data[:n])
        assert_decodes_like_ffmpeg(cut, files[container])
        # Cut well inside a packet (its last bytes may be stuffing that no macroblock needs).
        inside = [k for k, (start, end) in enumerate(spans) if start < n < end - 8]
        if inside and ffmpeg_decode(cut):
            # The frame cut short reports more damaged macroblocks than in the intact file.
            frames = list(pkdkit.open(cut).frames())
            newly = [k for k, f in enumerate(frames) if f.damaged_mbs > intact[k]]
            assert newly, f"{percent} %: the cut frame must be reported damaged"
        compared += 1
    assert compared >= 85  # the remnant rule leaves out only a few cuts


def test_cut_frames_before_the_damage_are_intact_and_the_cut_one_is_marked(
    tmp_path: Path, files: dict[str, Path]
) -> None:
    data = files["mp4"].read_bytes()
    spans = packet_spans(files["mp4"])
    start, end = spans[15]
    cut = tmp_path / "half.mp4"
    cut.write_bytes(data[: (start + end) // 2])
    video = pkdkit.open(cut)
    frames = list(video.frames())
    theirs = ffmpeg_decode(cut)
    assert len(frames) == len(theirs) == 16
    assert [f.damaged for f in frames] == [False] * 15 + [True]
    for a, b in zip(frames[:15], theirs[:15]):
        assert all(np.array_equal(x, y) for x, y in zip(a.yuv, planes(b)))


@pytest.mark.parametrize("chunk", [3, 11, 20])
@pytest.mark.parametrize("lie", [0xFFFFFF00, 0, 5000, 300, 40])
def test_lying_avi_chunk_size_decodes_like_ffmpeg(tmp_path: Path, files: dict[str, Path], chunk: int, lie: int) -> None:
    data = bytearray(files["avi"].read_bytes())
    start, _ = packet_spans(files["avi"])[chunk]
    data[start - 4 : start] = struct.pack("<I", lie)
    path = tmp_path / "lie.avi"
    path.write_bytes(bytes(data))
    assert_decodes_like_ffmpeg(path, files["avi"])


@pytest.mark.parametrize("sample", [1, 12, 25])
def test_mp4_sample_size_past_the_end_keeps_the_samples_before(
    tmp_path: Path, files: dict[str, Path], sample: int
) -> None:
    """A 'stsz' entry that runs past the end of the file: the samples after it start past the
    end too, and FFmpeg stops reading there."""
    data = bytearray(files["mp4"].read_bytes())
    stsz = data.index(b"stsz")
    count = struct.unpack(">I", data[stsz + 12 : stsz + 16])[0]
    assert count == 30
    entry = stsz + 16 + 4 * sample
    data[entry : entry + 4] = struct.pack(">I", len(data) + 1000)
    path = tmp_path / "stsz.mp4"
    path.write_bytes(bytes(data))
    assert_decodes_like_ffmpeg(path, files["mp4"])
    assert pkdkit.open(path).num_frames == sample + 1
