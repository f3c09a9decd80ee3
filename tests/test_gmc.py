"""GMC sprite VOPs (S-VOPs, libxvid ``-gmc 1``) decoded natively, bit-exact with FFmpeg.

Clips are written by Debian's ``ffmpeg`` with libxvid (the encoder of UCF-101 and HMDB-51) from
lavfi sources whose motion is a zoom, a rotation or a pan, so libxvid really codes S-VOPs with GMC
macroblocks; each is decoded by pkdkit (``fallback=False``) and by FFmpeg through PyAV, and every
plane of every frame, the frame types, the frame count and the exported vectors (GMC macroblocks
export the warp's average vector) must be equal. libxvid always codes three warping points at
1/16-sample accuracy, so :mod:`sprite_rewrite` re-codes its streams with 0-3 points and every
accuracy, reaching FFmpeg's one-point fast path and its two-point case too.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from mutation_loop import run_mutation_loop
from sprite_rewrite import rewrite

from clips import GMC_ROTATE, GMC_ZOOM
from ffmpeg_oracle import assert_same_as_ffmpeg

pytestmark = pytest.mark.skipif(
    shutil.which("ffmpeg") is None, reason="needs the ffmpeg program (libxvid) to write GMC clips"
)

PAN = "testsrc2=size=480x320:rate=25,crop={w}:{h}:'t*60':'t*30'"

# name: (source, width, height, frames, extra ffmpeg arguments)
CLIPS = {
    "zoom": (GMC_ZOOM, 176, 144, 20, ["-bf", "0"]),
    "zoom_qpel": (GMC_ZOOM, 176, 144, 20, ["-bf", "0", "-flags", "+qpel"]),
    "zoom_bf2": (GMC_ZOOM, 208, 120, 30, ["-bf", "2"]),
    "zoom_bf2_qpel": (GMC_ZOOM, 208, 120, 30, ["-bf", "2", "-flags", "+qpel"]),
    "rotate_bf1_qpel_mv4": (GMC_ROTATE, 176, 144, 25, ["-bf", "1", "-flags", "+qpel+mv4"]),
    "pan_odd_size": (PAN, 200, 136, 25, ["-bf", "2", "-q:v", "6"]),
}


def encode(path: Path, name: str) -> Path:
    source, w, h, frames, extra = CLIPS[name]
    cmd = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", source.format(w=w, h=h), "-frames:v", str(frames)]
    cmd += ["-c:v", "libxvid", "-gmc", "1", "-q:v", "4", "-g", "100", *extra, str(path)]
    subprocess.run(cmd, check=True, capture_output=True)
    return path


def to_m4v(src: Path, dst: Path) -> Path:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(src), "-c:v", "copy", "-f", "m4v", str(dst)], check=True)
    return dst


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("gmc")
    return {name: encode(root / f"{name}.avi", name) for name in CLIPS}


@pytest.mark.parametrize("name", list(CLIPS))
def test_libxvid_gmc_is_bit_exact_with_ffmpeg(clips: dict[str, Path], name: str) -> None:
    types = assert_same_as_ffmpeg(clips[name])
    assert "S" in types, f"libxvid coded no S-VOP: {types}"
    # libxvid may leave out the last B-frames (no later reference to code them against).
    assert CLIPS[name][3] - 2 <= len(types) <= CLIPS[name][3]
    assert ("B" in types) == ("-bf" in CLIPS[name][4] and CLIPS[name][4][1] != "0")


def test_the_same_stream_in_raw_form(clips: dict[str, Path], tmp_path: Path) -> None:
    types = assert_same_as_ffmpeg(to_m4v(clips["zoom_bf2_qpel"], tmp_path / "zoom.m4v"))
    assert "S" in types and "B" in types


@pytest.mark.parametrize("points", [0, 1, 2, 3])
@pytest.mark.parametrize("accuracy", [0, 1, 2, 3])
def test_every_warp_the_standard_allows(clips: dict[str, Path], tmp_path: Path, points: int, accuracy: int) -> None:
    """0-3 warping points at every accuracy (0-1 points: FFmpeg's fast path, scaled up so the
    translation reaches the frame edges; 2 points: rotation + zoom; 3: affine)."""
    source = "zoom_bf2" if points % 2 else "rotate_bf1_qpel_mv4"
    stream = to_m4v(clips[source], tmp_path / "src.m4v").read_bytes()

    def scale(p: list[tuple[int, int]]) -> list[tuple[int, int]]:
        return [(5 * du, -7 * dv) for du, dv in p] if points == 1 else p

    path = tmp_path / f"warp_{points}_{accuracy}.m4v"
    path.write_bytes(rewrite(stream, points, accuracy, scale))
    assert "S" in assert_same_as_ffmpeg(path)


def test_mutated_gmc_streams_never_crash_or_hang(clips: dict[str, Path], tmp_path: Path) -> None:
    for name, seed in (("zoom_bf2_qpel", 11), ("rotate_bf1_qpel_mv4", 12)):
        path = to_m4v(clips[name], tmp_path / f"{name}.m4v")
        run_mutation_loop(path, seed=seed, runs=80)
