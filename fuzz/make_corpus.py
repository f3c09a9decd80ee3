"""Seed corpus for the fuzz targets: small clips from tests/clips.py covering the stream features.

python fuzz/make_corpus.py      # writes fuzz/corpus/{decode_any,demux}/ (git-ignored)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "tests"))

from clips import ClipSpec, make_clip  # noqa: E402

SEEDS = {
    "plain.m4v": ClipSpec(width=64, height=48, frames=8, gop=4, qscale=4),
    "q1.avi": ClipSpec(width=48, height=32, frames=6, gop=3, qscale=1, container="avi"),
    "mv4aic.mp4": ClipSpec(width=64, height=48, frames=8, gop=6, qscale=6, container="mp4", flags=("mv4", "aic")),
    "packets.m4v": ClipSpec(width=80, height=64, frames=6, gop=6, qscale=3, options={"ps": "100"}),
    "mpegq.m4v": ClipSpec(width=50, height=38, frames=6, gop=3, qscale=8, options={"mpeg_quant": "1"}),
    "q31.m4v": ClipSpec(width=64, height=48, frames=10, gop=12, qscale=31, flags=("mv4",)),
    "dp.m4v": ClipSpec(width=64, height=48, frames=6, gop=3, qscale=4, options={"data_partitioning": "1", "ps": "200"}),
    "bframes.avi": ClipSpec(width=48, height=32, frames=6, gop=6, bf=1, qscale=4, container="avi"),
}


# Files only the ffmpeg command writes: XviD packed B-frames over GOPs (libxvid), Matroska.
FFMPEG_SEEDS = {
    "xvid_packed.avi": ["-c:v", "libxvid", "-vtag", "XVID", "-bf", "2", "-g", "4", "-q:v", "4"],
    "bframes.mkv": ["-c:v", "mpeg4", "-bf", "2", "-g", "4", "-q:v", "4"],
}


def ffmpeg_seeds(out: Path) -> int:
    """Write FFMPEG_SEEDS into ``out`` when the ffmpeg command is there; returns how many."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        print("no ffmpeg command: the XviD and Matroska seeds are left out")
        return 0
    for name, codec in FFMPEG_SEEDS.items():
        source = ["-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25", "-frames:v", "9"]
        subprocess.run([ffmpeg, "-v", "error", "-y", *source, *codec, str(out / name)], check=True)
    return len(FFMPEG_SEEDS)


# Checked-in streams: libxvid GMC (FFmpeg cannot write it), FFmpeg interlaced with B-frames.
FILES = ["gmc_xvid.m4v", "interlaced_bf2.avi"]


def main() -> None:
    out = HERE / "corpus" / "decode_any"
    out.mkdir(parents=True, exist_ok=True)
    for name, spec in SEEDS.items():
        make_clip(out / name, spec)
    extra = ffmpeg_seeds(out)
    for name in FILES:
        shutil.copy(HERE.parent / "tests" / "data" / name, out / name)
    demux = HERE / "corpus" / "demux"
    demux.mkdir(parents=True, exist_ok=True)
    for f in out.iterdir():
        shutil.copy(f, demux / f.name)
    print(f"{len(SEEDS) + extra + len(FILES)} seeds in {out} and {demux}")


if __name__ == "__main__":
    main()
