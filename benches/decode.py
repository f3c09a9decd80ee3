"""Single-thread decode speed: pkdkit vs FFmpeg's mpeg4 decoder (through PyAV), same file, same run.

Two peers, each timed as the best of ``--repeat`` full passes over the file:

* ``decode``: every frame decoded, nothing else (PyAV ``thread_type="NONE"``: frames are produced
  but not converted; pkdkit: ``pkdkit.open(path).frames()``).
* ``decode+mv+bgr``: what a CoViAR loader needs per frame: the decoded picture as BGR and the
  motion vectors (PyAV with ``flags2=+export_mvs``, ``side_data`` vectors and
  ``to_ndarray(format="bgr24")``; pkdkit: ``frame.motion_vectors`` and ``pkdkit.yuv_to_rgb(...,
  bgr=True)``).

Input: the CoViAR format (340x256, q 1, GOP 12, no B-frames) re-encoded from natural-looking content
(``natural_clip.py``), or any file given with ``--input``. Prints a table; ``--json`` prints JSON.

    python benches/decode.py                    # 300-frame natural clip, 5 repeats
    python benches/decode.py --frames 600 --json
    python benches/decode.py --input some.avi
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from natural_clip import make_coviar_clip  # noqa: E402

import pkdkit  # noqa: E402


def pyav_decode(path: Path) -> int:
    """Decode every frame with FFmpeg (one thread); return the frame count."""
    n = 0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "NONE"
        stream.codec_context.thread_count = 1
        for _ in container.decode(stream):
            n += 1
    return n


def pyav_decode_mv_bgr(path: Path) -> int:
    """FFmpeg decode + exported motion vectors + BGR conversion per frame."""
    n = 0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "NONE"
        stream.codec_context.thread_count = 1
        stream.codec_context.options = {"flags2": "+export_mvs"}
        for frame in container.decode(stream):
            vectors = frame.side_data.get("MOTION_VECTORS")
            _mvs = vectors.to_ndarray() if vectors is not None else np.empty(0)
            _bgr = frame.to_ndarray(format="bgr24")
            n += 1
    return n


def pkdkit_decode(path: Path) -> int:
    """Decode every frame with pkdkit; return the frame count."""
    n = 0
    for _ in pkdkit.open(str(path)).frames():
        n += 1
    return n


def pkdkit_decode_mv_bgr(path: Path) -> int:
    """pkdkit decode + motion vectors + BGR conversion per frame (pkdkit's one conversion)."""
    n = 0
    for frame in pkdkit.open(str(path)).frames():
        y, u, v = frame.yuv
        _mvs = frame.motion_vectors
        _bgr = pkdkit.yuv_to_rgb(y, u, v, bgr=True)
        n += 1
    return n


def best_time(fn: Callable[[Path], int], path: Path, repeat: int) -> tuple[float, int]:
    """Best wall time of ``repeat`` runs (after one warm-up run) and the frame count."""
    frames = fn(path)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn(path)
        times.append(time.perf_counter() - start)
    return min(times), frames


def pkdkit_can_decode() -> str | None:
    """None if pkdkit has a decoder, else why not (the harness then measures FFmpeg only)."""
    if not hasattr(pkdkit, "open"):
        return "pkdkit.open is not available yet"
    return None


def run(path: Path, repeat: int) -> dict:
    results: dict = {
        "file": str(path),
        "bytes": path.stat().st_size,
        "repeat": repeat,
        "machine": platform.processor() or platform.machine(),
        "pyav": av.__version__,
        "libavcodec": av.library_versions.get("libavcodec"),
        "pkdkit": pkdkit.__version__,
        "peers": {},
    }
    missing = pkdkit_can_decode()
    peers = {
        "decode": (pyav_decode, pkdkit_decode),
        "decode+mv+bgr": (pyav_decode_mv_bgr, pkdkit_decode_mv_bgr),
    }
    for name, (ffmpeg_fn, pkdkit_fn) in peers.items():
        t_ff, n_ff = best_time(ffmpeg_fn, path, repeat)
        row = {"frames": n_ff, "ffmpeg_s": t_ff, "ffmpeg_fps": n_ff / t_ff}
        if missing is None:
            try:
                t_pk, n_pk = best_time(pkdkit_fn, path, repeat)
            except Exception as exc:  # report, do not hide: the table shows the error
                row["pkdkit_error"] = f"{type(exc).__name__}: {exc}"
            else:
                row.update(
                    pkdkit_frames=n_pk,
                    pkdkit_s=t_pk,
                    pkdkit_fps=n_pk / t_pk,
                    speedup=t_ff / t_pk,  # > 1: pkdkit is faster
                )
        else:
            row["pkdkit_error"] = missing
        results["peers"][name] = row
    return results


def print_table(results: dict) -> None:
    print(f"file {results['file']} ({results['bytes'] / 1e6:.2f} MB), best of {results['repeat']}, one thread")
    print(f"PyAV {results['pyav']} (libavcodec {results['libavcodec']}), pkdkit {results['pkdkit']}")
    header = f"{'peer':<15} {'frames':>6} {'FFmpeg fps':>11} {'pkdkit fps':>11} {'pkdkit/FFmpeg':>14}"
    print(header)
    print("-" * len(header))
    for name, row in results["peers"].items():
        if "pkdkit_fps" in row:
            pk, ratio = f"{row['pkdkit_fps']:11.1f}", f"{row['speedup']:13.2f}x"
        else:
            pk, ratio = f"{'-':>11}", f"{'-':>14}"
        print(f"{name:<15} {row['frames']:>6} {row['ffmpeg_fps']:11.1f} {pk} {ratio}")
        if "pkdkit_error" in row:
            print(f"  pkdkit: {row['pkdkit_error']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", type=Path, help="video to decode (default: render a natural clip)")
    parser.add_argument("--frames", type=int, default=300, help="frames of the rendered clip")
    parser.add_argument("--seed", type=int, default=0, help="seed of the rendered clip")
    parser.add_argument("--repeat", type=int, default=5, help="timed passes per peer (best is kept)")
    parser.add_argument("--keep", type=Path, help="also save the rendered clip here")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    os.environ.setdefault("RAYON_NUM_THREADS", "1")

    with tempfile.TemporaryDirectory() as tmp:
        path = args.input
        if path is None:
            path = args.keep or Path(tmp) / "coviar_natural.m4v"
            make_coviar_clip(path, frames=args.frames, seed=args.seed)
        results = run(path, args.repeat)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print_table(results)


if __name__ == "__main__":
    main()
