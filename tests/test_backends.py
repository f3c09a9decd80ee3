"""One facade over two backends, and errors that mean one thing each.

``pkdkit.open`` chooses pkdkit's decoder or FFmpeg once, from what the Rust core says at
indexing time; the FFmpeg backend reads every container FFmpeg demuxes (checked against
FFmpeg's own decode, GOP by GOP, in reverse order so no GOP is found by reading in order);
``load_batch`` keeps the native samples of a mixed batch in one Rust call; a fallback is logged
once per file; caller mistakes are ``ValueError``, never ``UnsupportedCodecError``.
"""

from __future__ import annotations

import logging
import pickle
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

import pkdkit
from pkdkit import _core
from pkdkit._pyav import ffmpeg_errors
from pkdkit.data.datasets import CoviarDataset, DatalistEntry
from pkdkit.representations import load_batch

import coviar_reference as ref
from clips import ClipSpec, make_clip, render_frames

TINY = Path(__file__).parent / "data" / "tiny.m4v"


def encode(path: Path, fmt: str, codec: str, spec: ClipSpec, options: dict[str, str] | None = None) -> Path:
    """``spec``'s frames encoded by FFmpeg's ``codec`` into container ``fmt``."""
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=Fraction(25, 1))
        stream.width, stream.height, stream.pix_fmt = spec.width, spec.height, "yuv420p"
        stream.codec_context.gop_size = spec.gop
        stream.codec_context.max_b_frames = spec.bf
        stream.options = options or {}
        for img in render_frames(spec):
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def h264(path: Path, spec: ClipSpec) -> Path:
    return encode(path, "mp4", "libx264", spec, {"x264-params": f"keyint={spec.gop}:min-keyint={spec.gop}:scenecut=0"})


def rgb(planes: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    return pkdkit.yuv_to_rgb(*planes)


# ----------------------------------------------------------------------------- containers


@pytest.mark.parametrize(
    ("name", "fmt", "codec", "bf", "vectors"),
    [
        ("program.mpg", "mpeg", "mpeg2video", 2, True),  # MPEG-PS: seeks land on the wrong frame
        ("transport.ts", "mpegts", "mpeg2video", 0, True),
        ("clip.mkv", "matroska", "mpeg2video", 0, True),  # (MPEG-4 in Matroska is read natively)
        ("clip.webm", "webm", "libvpx", 0, False),  # VP8: FFmpeg exports no vectors
    ],
)
def test_every_gop_of_every_container_ffmpeg_demuxes(
    tmp_path: Path, name: str, fmt: str, codec: str, bf: int, vectors: bool
) -> None:
    path = encode(tmp_path / name, fmt, codec, ClipSpec(width=96, height=64, frames=30, gop=8, bf=bf))
    gops = ref.ffmpeg_gops(path)
    video = pkdkit.open(path)
    assert video.backend == "ffmpeg" and video.codec == codec.replace("libvpx", "vp8")
    assert video.gop_lengths == [len(g.types) for g in gops] and video.num_gops >= 4
    for g in reversed(range(video.num_gops)):
        gop = gops[g]
        assert np.array_equal(video.iframe(g), rgb(gop.planes[0])), g
        if not vectors:
            continue
        last = len(gop.types) - 1
        assert np.array_equal(video.motion_vectors(g, last), ref.motion_vectors(gop, last)), g
        assert np.array_equal(video.residual(g, last), ref.residual(gop, last, pkdkit.yuv_to_rgb)), g
        whole = video.decode_gop(g, accumulate=False)
        for pos in range(len(gop.types)):
            assert np.array_equal(whole["motion_vectors"][pos], ref.motion_vectors(gop, pos, False)), (g, pos)
    if not vectors:
        with pytest.raises(pkdkit.UnsupportedCodecError, match="exports no motion vectors for vp8"):
            video.motion_vectors(0, 1)
    frames = list(video.frames(3, 20))
    flat = [planes for gop in gops for planes in gop.planes]
    assert [f.index for f in frames] == list(range(3, 20))
    assert all(np.array_equal(f.yuv[0], flat[f.index][0]) for f in frames)


def test_ffmpeg_frames_equal_native_frames_with_the_same_vector_records(tmp_path: Path) -> None:
    path = make_clip(tmp_path / "c.m4v", ClipSpec(frames=10, gop=6, flags=("mv4",)))
    native = list(pkdkit.open(path).frames())
    ffmpeg = list(pkdkit.open(path, backend="ffmpeg").frames())
    assert [f.frame_type for f in native] == [f.frame_type for f in ffmpeg]
    for a, b in zip(native, ffmpeg):
        assert all(np.array_equal(x, y) for x, y in zip(a.yuv, b.yuv))
        assert a.motion_vectors.dtype == b.motion_vectors.dtype == pkdkit.MOTION_VECTOR_DTYPE
        assert np.array_equal(a.motion_vectors, b.motion_vectors)


def test_motion_vector_records_have_ffmpegs_layout(tmp_path: Path) -> None:
    """MOTION_VECTOR_DTYPE (built from the Rust table) is FFmpeg's AVMotionVector less ``flags``."""
    with av.open(str(make_clip(tmp_path / "d.m4v", ClipSpec(frames=3)))) as container:
        stream = container.streams.video[0]
        stream.codec_context.options = {"flags2": "+export_mvs"}
        side = next(f for f in container.decode(stream) if f.side_data.get("MOTION_VECTORS") is not None)
        theirs = side.side_data.get("MOTION_VECTORS").to_ndarray().dtype
    ours = pkdkit.MOTION_VECTOR_DTYPE
    # FFmpeg's fields and types in its order, less `flags`, laid out as a C struct would be.
    want = np.dtype([(name, theirs.fields[name][0]) for name in theirs.names if name != "flags"], align=True)
    assert ours == want and ours.itemsize == 28


# ----------------------------------------------------------------------------- load_batch


def test_mixed_batch_keeps_native_samples_together_and_equals_one_by_one(tmp_path: Path, monkeypatch) -> None:
    spec = ClipSpec(frames=16, gop=8, seed=5)
    mpeg4 = make_clip(tmp_path / "a.m4v", spec)
    avi = make_clip(tmp_path / "b.avi", ClipSpec(frames=12, gop=6, seed=6, container="avi"))
    other = h264(tmp_path / "c.mp4", spec)
    calls: list[list[str]] = []
    rust_batch = _core.load_batch

    def recording(paths, *args, **kwargs):
        calls.append(list(paths))
        return rust_batch(paths, *args, **kwargs)

    monkeypatch.setattr(_core, "load_batch", recording)
    paths = [mpeg4, other, avi, other, mpeg4]
    gops, positions = [1, 0, 1, 1, 0], [3, 5, 2, 7, 1]
    for rep in ("iframe", "mv", "residual"):
        calls.clear()
        got = load_batch(paths, gops, positions, rep, threads=2)
        want = np.stack([pkdkit.open(p).represent(g, pos, rep) for p, g, pos in zip(paths, gops, positions)])
        assert got.dtype == want.dtype and np.array_equal(got, want), rep
        assert calls == [[str(mpeg4), str(avi), str(mpeg4)]], calls  # one Rust call, native samples only
    calls.clear()
    assert load_batch([other, other], [0, 1], [1, 1], "mv").shape == (2, 144, 176, 2)
    assert calls == []
    # Several representations: the native samples in one Rust call for all of them.
    several: list[tuple[list[str], list[str]]] = []
    rust_batches = _core.load_batches

    def recording_several(paths, gops, positions, names, **kwargs):
        several.append((list(paths), list(names)))
        return rust_batches(paths, gops, positions, names, **kwargs)

    monkeypatch.setattr(_core, "load_batches", recording_several)
    names = ("residual", "iframe", "mv")
    got = load_batch(paths, gops, positions, names, threads=2)
    assert several == [([str(mpeg4), str(avi), str(mpeg4)], list(names))] and calls == []
    for name, array in zip(names, got):
        want = np.stack([pkdkit.open(p).represent(g, pos, name) for p, g, pos in zip(paths, gops, positions)])
        assert array.dtype == want.dtype and np.array_equal(array, want), name


# ----------------------------------------------------------------------------- choosing a backend


def interlaced_dp(frames: int) -> ClipSpec:
    """Interlaced coding with data partitioning: a combination pkdkit's decoder refuses by name."""
    return ClipSpec(frames=frames, flags=("ildct", "ilme"), options={"data_partitioning": "1", "ps": "300"})


def test_fallback_to_ffmpeg_is_logged_once_per_file_with_the_reason(tmp_path: Path, caplog) -> None:
    native = make_clip(tmp_path / "plain.m4v", ClipSpec(frames=4))
    # interlaced with data partitioning: a combination pkdkit's decoder refuses by name
    interlaced = make_clip(tmp_path / "interlaced.m4v", interlaced_dp(frames=6))
    other = h264(tmp_path / "other.mp4", ClipSpec(frames=6, gop=3))
    with caplog.at_level(logging.INFO, logger="pkdkit"):
        assert pkdkit.open(native).backend == "native"
        assert caplog.records == []
        for _ in range(2):
            video = pkdkit.open(interlaced)
            pkdkit.open(other)
    assert video.backend == "ffmpeg" and len(list(video.frames())) == 6
    records = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert len(records) == 2, records
    (level, message), (level2, message2) = records
    assert level == logging.WARNING and "interlaced.m4v: read by FFmpeg (mpeg4)" in message and "interlaced" in message
    assert level2 == logging.INFO and "other.mp4: read by FFmpeg (h264)" in message2 and "H.264" in message2


def test_damaged_header_that_looks_unsupported_is_logged_as_a_warning(tmp_path: Path, caplog) -> None:
    """One flipped bit in the VOL header of a real stream reads as "complexity estimation method 3":
    pkdkit refuses it as an unsupported tool, FFmpeg reads it; the user is told, once."""
    data = bytearray(TINY.read_bytes())
    vol = data.index(b"\x00\x00\x01\x20") + 4
    data[vol + 1] ^= 0x20  # bit 10 of the VOL: complexity_estimation_disable
    path = tmp_path / "damaged_vol.m4v"
    path.write_bytes(bytes(data))
    with pytest.raises(pkdkit.UnsupportedCodecError, match="complexity estimation method 3"):
        pkdkit.open(path, backend="native")
    with caplog.at_level(logging.INFO, logger="pkdkit"):
        video = pkdkit.open(path)
        pkdkit.open(path)
    assert video.backend == "ffmpeg" and video.num_frames == 14
    [record] = caplog.records
    assert record.levelno == logging.WARNING and record.name == "pkdkit"
    assert record.getMessage() == (
        f"{path}: read by FFmpeg (mpeg4), not pkdkit's decoder: unsupported: mpeg4: complexity estimation method 3"
    )


def test_backend_choice_is_explicit(tmp_path: Path) -> None:
    interlaced = make_clip(tmp_path / "interlaced.m4v", interlaced_dp(frames=4))
    refusal = r"interlaced\.m4v: unsupported: mpeg4: interlaced video with data partitioning"
    with pytest.raises(pkdkit.UnsupportedCodecError, match=refusal):
        pkdkit.open(interlaced, backend="native")
    assert pkdkit.open(TINY, backend="ffmpeg").backend == "ffmpeg"
    with pytest.raises(ValueError, match="backend must be one of"):
        pkdkit.open(TINY, backend="gstreamer")
    garbage = tmp_path / "garbage.mkv"
    garbage.write_bytes(b"not a video at all" * 50)
    with pytest.raises(pkdkit.NotAVideoError, match="garbage.mkv"):
        pkdkit.open(garbage)
    with pytest.raises(TypeError):
        pkdkit.open(TINY).iframe(0, True)  # options are keyword-only


# ----------------------------------------------------------------------------- errors


def test_exception_classes_are_defined_once_in_the_extension() -> None:
    classes = [
        pkdkit.VideoError,
        pkdkit.NotAVideoError,
        pkdkit.UnsupportedCodecError,
        pkdkit.CorruptStreamError,
        pkdkit.LimitExceededError,
        pkdkit.VideoIndexError,
    ]
    for cls in classes:
        assert getattr(_core, cls.__name__) is cls and cls.__module__ == "pkdkit.errors"
        assert issubclass(cls, pkdkit.VideoError)
        again = pickle.loads(pickle.dumps(cls("clip.m4v: message")))  # crosses DataLoader workers
        assert type(again) is cls and str(again) == "clip.m4v: message"
    assert issubclass(pkdkit.VideoIndexError, IndexError) and not issubclass(pkdkit.VideoError, ValueError)
    with pytest.raises(pkdkit.VideoIndexError) as err:
        pkdkit.open(TINY).iframe(99)  # raised by the Rust core
    assert isinstance(err.value, IndexError) and "tiny.m4v: gop 99 out of range" in str(err.value)


def test_caller_mistakes_are_value_errors_not_unsupported_codecs() -> None:
    video = _core.open(str(TINY))
    mistakes = [
        lambda: _core.represent(video, 0, 1, "flow"),
        lambda: _core.load_batch([str(TINY)], [0], [0], "flow"),
    ]
    y, u, v = (np.zeros((64, 96), np.uint8), np.zeros((32, 48), np.uint8), np.zeros((32, 48), np.uint8))
    none = np.zeros((0, 10), np.int32)
    mistakes += [
        # two picture types, one frame
        lambda: _core.position_from_frames("x.mp4", "IP", [(y, u, v)], [none], 0, "mv"),
        # a GOP that does not start with an I-frame
        lambda: _core.gop_from_frames("x.mp4", "P", [(y, u, v)], [none]),
        # vectors with 3 columns
        lambda: _core.gop_from_frames("x.mp4", "I", [(y, u, v)], [np.zeros((2, 3), np.int32)]),
        # a chroma plane of the wrong size
        lambda: _core.gop_from_frames("x.mp4", "I", [(y, u[:5], v)], [none]),
    ]
    for mistake in mistakes:
        with pytest.raises(ValueError) as err:
            mistake()
        assert not isinstance(err.value, pkdkit.VideoError), err.value


def test_pyav_errors_become_video_errors_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(pkdkit.CorruptStreamError, match="clip.ts: FFmpeg:") as err:
        with ffmpeg_errors("clip.ts"):
            raise av.error.InvalidDataError(1094995529, "Invalid data found when processing input")
    assert not isinstance(err.value, ValueError)
    with pytest.raises(pkdkit.NotAVideoError, match="clip.ts"):
        with ffmpeg_errors("clip.ts", opening=True):
            raise av.error.InvalidDataError(1094995529, "Invalid data found when processing input")
    with pytest.raises(FileNotFoundError):  # I/O stays OSError: not the video's content
        pkdkit.open(tmp_path / "missing.mkv", backend="ffmpeg")


def test_datasets_skip_damaged_videos_but_not_bugs(tmp_path: Path) -> None:
    entries = [DatalistEntry(str(TINY), 0, 14), DatalistEntry(str(TINY), 1, 14)]

    def buggy_loader(paths, gops, positions, modality):
        raise ValueError("a bug in the caller's loader")

    data = CoviarDataset(tmp_path, entries, "mv", crop_size=32, seed=0, loader=buggy_loader)
    with pytest.raises(ValueError, match="a bug in the caller's loader"):
        data[0]
    assert list(data.damaged) == []
