"""Bad input gives the right ``pkdkit.VideoError`` subclass naming the file, never a crash:
empty and random files, truncations, other codecs (H.264 MP4, MS-MPEG4 AVI), absurd declared
frame sizes, and a seeded corruption loop over hundreds of mutated files."""

from __future__ import annotations

import json
import random
import re
import struct
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from click.testing import CliRunner
from handmade import encode_with_audio, split_vops, write_avi

import pkdkit
from pkdkit.cli import main

from clips import ClipSpec, make_clip


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Small clips (B-frames, two GOPs) in each container, as bytes."""
    d = tmp_path_factory.mktemp("error_clips")
    made = {
        c: make_clip(d / f"clip.{c}", ClipSpec(176, 144, frames=14, gop=8, bf=1, container=c)).read_bytes()
        for c in ("m4v", "avi", "mp4")
    }
    fragmented = encode_with_audio(d / "frag.mp4", "mp4", False, {"movflags": "frag_keyframe+empty_moov"})
    made["fragmented-mp4"] = fragmented.read_bytes()
    return made


def encode_other(path: Path, codec: str, fmt: str) -> Path:
    """A few frames in another codec, encoded by PyAV."""
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=Fraction(25, 1))
        stream.width, stream.height, stream.pix_fmt = 176, 144, "yuv420p"
        for i in range(4):
            frame = av.VideoFrame.from_ndarray(np.full((144, 176, 3), 40 * i, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.avi"
    path.write_bytes(b"")
    with pytest.raises(pkdkit.NotAVideoError, match=r"empty\.avi: .*empty"):
        pkdkit.open(path)


@pytest.mark.parametrize("seed", range(5))
def test_random_bytes(tmp_path: Path, seed: int) -> None:
    path = tmp_path / f"noise{seed}.mp4"
    path.write_bytes(np.random.default_rng(seed).integers(0, 256, 100 + 1000 * seed, np.uint8).tobytes())
    with pytest.raises(pkdkit.NotAVideoError, match=rf"noise{seed}\.mp4"):
        pkdkit.open(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.m4v"):
        pkdkit.open(tmp_path / "nope.m4v")


def test_wave_file_is_not_a_video(tmp_path: Path) -> None:
    path = tmp_path / "sound.avi"
    path.write_bytes(b"RIFF" + struct.pack("<I", 4 + 8 + 16) + b"WAVEfmt " + struct.pack("<I", 16) + bytes(16))
    with pytest.raises(pkdkit.NotAVideoError, match="WAVE"):
        pkdkit.open(path)


@pytest.mark.parametrize("container", ["m4v", "avi", "mp4", "fragmented-mp4"])
def test_truncated_at_many_offsets(tmp_path: Path, clips: dict[str, bytes], container: str) -> None:
    """Every cut either still opens (with no more frames than the whole file) or raises a
    VideoError subclass; a cut inside AVI/MP4 structure is a CorruptStreamError with an offset."""
    data = clips[container]
    full = pkdkit.open(_write(tmp_path / f"full.{container}", data)).num_frames
    path = tmp_path / f"cut.{container}"
    outcomes: set[str] = set()
    for cut in sorted({*range(0, 64), *range(0, len(data), max(1, len(data) // 150))}):
        path.write_bytes(data[:cut])
        try:
            video = pkdkit.open(path)
        except pkdkit.VideoError as err:
            assert f"cut.{container}" in str(err)
            if isinstance(err, pkdkit.CorruptStreamError):
                assert "corrupt stream at byte" in str(err)
            outcomes.add(type(err).__name__)
        else:
            assert 0 < video.num_frames <= full
            assert len(video.frame_types) == video.num_frames
            outcomes.add("ok")
    assert "CorruptStreamError" in outcomes or "NotAVideoError" in outcomes
    if container in ("m4v", "fragmented-mp4"):
        assert "ok" in outcomes  # a raw stream or fragmented MP4 cut between frames still opens


def test_h264_mp4_is_unsupported(tmp_path: Path) -> None:
    path = encode_other(tmp_path / "h264.mp4", "libx264", "mp4")
    with pytest.raises(pkdkit.UnsupportedCodecError, match=r"h264\.mp4: .*H\.264.*avc1"):
        pkdkit.open(path, fallback=False)


def test_h264_annex_b_is_unsupported(tmp_path: Path) -> None:
    path = encode_other(tmp_path / "raw.h264", "libx264", "h264")
    with pytest.raises(pkdkit.UnsupportedCodecError, match=r"H\.264"):
        pkdkit.open(path, fallback=False)


@pytest.mark.parametrize(("encoder", "name"), [("msmpeg4", "msmpeg4v3"), ("msmpeg4v2", "msmpeg4v2")])
def test_ms_mpeg4_avi_is_unsupported(tmp_path: Path, encoder: str, name: str) -> None:
    path = encode_other(tmp_path / f"{encoder}.avi", encoder, "avi")
    with pytest.raises(pkdkit.UnsupportedCodecError, match=rf"{encoder}\.avi: .*codec {name} \(fourcc"):
        pkdkit.open(path, fallback=False)


@pytest.mark.parametrize(
    ("encoder", "fmt", "name", "message"),
    [
        ("libx265", "mp4", "hevc.mp4", r"HEVC \(sample entry 'hev1'\)"),
        ("libx265", "hevc", "raw.hevc", r"HEVC \(Annex B\)"),
        ("mpeg2video", "mp4", "mpeg2.mp4", r"MPEG-2 video \(esds object type 0x61\)"),  # an 'mp4v' entry
        ("mpeg2video", "mpeg2video", "raw.m2v", r"MPEG-1/2 video"),
        ("wmv2", "avi", "wmv.avi", r"codec wmv2 \(fourcc WMV2\)"),
        ("mpeg2video", "matroska", "mpeg2.mkv", r"codec MPEG-1/2 video \('V_MPEG2'\)"),
        ("mpeg4", "mpegts", "clip.ts", r"MPEG transport stream"),
    ],
)
def test_other_codecs_and_containers_are_named(tmp_path: Path, encoder: str, fmt: str, name: str, message: str) -> None:
    path = encode_other(tmp_path / name, encoder, fmt)
    with pytest.raises(pkdkit.UnsupportedCodecError, match=rf"{re.escape(name)}: unsupported: .*{message}"):
        pkdkit.open(path, fallback=False)


def test_other_codecs_open_through_ffmpeg_by_default(tmp_path: Path) -> None:
    path = encode_other(tmp_path / "h264.mp4", "libx264", "mp4")
    video = pkdkit.open(path)
    assert video.backend == "ffmpeg" and video.codec == "h264"
    assert video.num_frames > 0 and video.iframe(0).shape == (video.height, video.width, 3)
    result = CliRunner().invoke(main, ["probe", "--json", str(path)])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["codec"] == "h264" and info["num_frames"] == video.num_frames and "FFmpeg" in info["container"]


def test_audio_only_mp4_is_not_a_video(tmp_path: Path) -> None:
    path = tmp_path / "audio.mp4"
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate = 8000
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    with pytest.raises(pkdkit.NotAVideoError, match="no video track"):
        pkdkit.open(path)


def test_huge_declared_frame_size_avi(tmp_path: Path, clips: dict[str, bytes]) -> None:
    headers, vops = split_vops(clips["m4v"])
    path = write_avi(tmp_path / "huge.avi", [headers + vops[0], *vops[1:]], 100_000, 100_000)
    with pytest.raises(pkdkit.LimitExceededError, match=r"huge\.avi: .*100000x100000"):
        pkdkit.open(path)


def test_huge_declared_frame_size_mp4(tmp_path: Path, clips: dict[str, bytes]) -> None:
    data = bytearray(clips["mp4"])
    entry = data.index(b"mp4v")  # the sample entry: width/height 28 bytes after its type
    data[entry + 28 : entry + 32] = struct.pack(">HH", 65535, 65535)
    path = _write(tmp_path / "huge.mp4", bytes(data))
    with pytest.raises(pkdkit.LimitExceededError, match=r"huge\.mp4: .*65535x65535"):
        pkdkit.open(path)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _mutate(data: bytes, rng: random.Random, container: str) -> bytes:
    """One random damage: bit flips, a truncation, an overwritten run, or a size field lie."""
    out = bytearray(data)
    kind = rng.randrange(4)
    if kind == 0:
        for _ in range(rng.randint(1, 8)):
            at = rng.randrange(len(out))
            out[at] ^= 1 << rng.randrange(8)
    elif kind == 1:
        del out[rng.randrange(len(out)) :]
    elif kind == 2:
        at = rng.randrange(len(out))
        out[at : at + rng.randint(1, 64)] = rng.randbytes(rng.randint(1, 64))
    else:
        lie = rng.choice([0, 1, 7, 0xFFFFFFFF, 0x7FFFFFFF, rng.randrange(1 << 32)])
        if container == "avi":
            tags = [i for i in range(len(out) - 8) if out[i : i + 4] in (b"00dc", b"LIST", b"movi", b"strf", b"idx1")]
            at = rng.choice(tags) + 4
            out[at : at + 4] = struct.pack("<I", lie)
        elif container == "mp4":
            tags = [
                i
                for i in range(4, len(out) - 4)
                if out[i : i + 4] in (b"moov", b"trak", b"stsz", b"stco", b"mdat", b"esds", b"stsc", b"mp4v")
            ]
            at = rng.choice(tags) - 4
            out[at : at + 4] = struct.pack(">I", lie)
        else:
            at = max(0, out.find(b"\x00\x00\x01\xb6", rng.randrange(len(out))))
            out[at + 4 : at + 8] = rng.randbytes(4)
    return bytes(out)


@pytest.mark.parametrize("container", ["m4v", "avi", "mp4", "fragmented-mp4"])
def test_seeded_corruption_loop_never_crashes(tmp_path: Path, clips: dict[str, bytes], container: str) -> None:
    """Hundreds of mutated files: only VideoError subclasses may come out, never a panic."""
    rng = random.Random(f"pkdkit-{container}")
    path = tmp_path / f"mutant.{container.split('-')[-1]}"
    errors: dict[str, int] = {}
    for _ in range(150):
        path.write_bytes(_mutate(clips[container], rng, container))
        try:
            video = pkdkit.open(path)
        except pkdkit.VideoError as err:
            assert str(err).startswith(str(path))
            errors[type(err).__name__] = errors.get(type(err).__name__, 0) + 1
        else:
            assert len(video.frame_types) == video.num_frames > 0
            assert video.gop_starts == [i for i, t in enumerate(video.frame_types) if t == "I"]
    assert errors  # the loop really produced broken files


@pytest.mark.parametrize("container", ["m4v", "avi", "mp4", "fragmented-mp4"])
def test_truncation_at_every_percent_never_crashes(tmp_path: Path, clips: dict[str, bytes], container: str) -> None:
    """Part of the mutation loop: the file cut at every 1 %; opening and decoding every frame
    gives frames or a VideoError, never a panic or a hang; a cut AVI keeps its first frames."""
    data = clips[container]
    path = tmp_path / f"cut.{container.split('-')[-1]}"
    opened = 0
    for percent in range(1, 100):
        path.write_bytes(data[: len(data) * percent // 100])
        try:
            video = pkdkit.open(path)
            frames = list(video.frames())
        except pkdkit.VideoError as err:
            assert str(err).startswith(str(path))
        else:
            assert len(frames) == video.num_frames == len(video.frame_types) > 0
            opened += 1
    if container != "mp4":  # an MP4 with its sample tables at the end has nothing before them
        assert opened >= 80, opened


def test_cli_prints_one_line_and_exits_1(tmp_path: Path) -> None:
    path = _write(tmp_path / "garbage.avi", b"RIFF\x10\x00\x00\x00AVI LIST")
    result = CliRunner().invoke(main, ["probe", str(path)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pkdkit: error: ") and "garbage.avi" in lines[0]
    assert "Traceback" not in result.output
