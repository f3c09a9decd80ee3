"""DCT coefficients of every frame vs the full decode of the same clip, pkdkit alone, same run.

* ``full``: every frame decoded to pixels (``pkdkit.open(path).frames()``: motion compensation,
  inverse quantisation, IDCT).
* ``dct``: every frame's coefficients, ``video.dct_frames()``: one pass like the full decode;
  the decoder stops before the IDCT, computes no pixel and no motion compensation, and parses
  each VOP once.
* ``dct_gop``: the same GOP by GOP, ``video.dct_gop(gop)`` (a GOP's frames held at once).
* ``dct_random``: the same by random access, ``video.dct(gop, pos)`` for every position: each
  frame's VOP decoded alone (a B-frame also re-parses its future reference's vectors).

Each is timed as the best of ``--repeat`` passes, in turns; the ratio comes from process CPU time
(steady on a shared machine), wall-clock ratio too. Input: the CoViAR format (340x256, q 1, GOP 12,
no B-frames) from natural-looking content (``natural_clip.py``); ``--asp`` adds B-frames and
quarter-pel; ``--xvid`` writes the same content as an XviD AVI with packed B-frames (Debian's
``ffmpeg`` with libxvid, as UCF-101 ships); ``--input`` takes any file pkdkit decodes.

On the q 1 clip the parse alone is about half of the full decode, which bounds any coefficient
path near 2x there; ``DCT_CLIP=FILE cargo test --release --lib dct::timing -- --ignored
--nocapture`` prints the full decode, the parse alone (vectors mode) and the coefficients in Rust.

    python benches/dct.py                  # 300-frame natural clip, 5 repeats
    python benches/dct.py --asp --json
    python benches/dct.py --xvid
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from natural_clip import make_coviar_clip, make_xvid_packed_clip  # noqa: E402

import pkdkit  # noqa: E402


def full_decode(path: Path) -> int:
    """Decode every frame to pixels; return the frame count."""
    return sum(1 for _ in pkdkit.open(path).frames())


def coefficients(path: Path) -> int:
    """Every frame's DCT coefficients in one pass; return the frame count."""
    return sum(1 for _ in pkdkit.open(path).dct_frames())


def coefficients_by_gop(path: Path) -> int:
    """Every frame's DCT coefficients, GOP by GOP; return the frame count."""
    video = pkdkit.open(path)
    return sum(len(video.dct_gop(gop)) for gop in range(video.num_gops))


def coefficients_random(path: Path) -> int:
    """Every frame's DCT coefficients, one position at a time; return the frame count."""
    video = pkdkit.open(path)
    n = 0
    for gop, length in enumerate(video.gop_lengths):
        for pos in range(length):
            video.dct(gop, pos)
            n += 1
    return n


def best_of(fn: Callable[[Path], int], path: Path, repeat: int) -> tuple[float, float, int]:
    """(best CPU seconds, best wall seconds, frames) over ``repeat`` passes."""
    cpu, wall, frames = float("inf"), float("inf"), 0
    for _ in range(repeat):
        c0, w0 = time.process_time(), time.perf_counter()
        frames = fn(path)
        cpu, wall = min(cpu, time.process_time() - c0), min(wall, time.perf_counter() - w0)
    return cpu, wall, frames


MODES = (
    ("full", full_decode),
    ("dct", coefficients),
    ("dct_gop", coefficients_by_gop),
    ("dct_random", coefficients_random),
)


def run(path: Path, repeat: int) -> dict[str, float]:
    timings = {name: (float("inf"), float("inf"), 0) for name, _ in MODES}
    for _ in range(repeat):  # in turns, so all see the same machine load
        for name, fn in MODES:
            cpu, wall, frames = best_of(fn, path, 1)
            old = timings[name]
            timings[name] = (min(old[0], cpu), min(old[1], wall), frames)
    (fc, fw, n) = timings["full"]
    assert all(t[2] == n for t in timings.values()), f"frame counts differ: {timings}"
    out: dict[str, float] = {"frames": n, "full_fps_cpu": n / fc}
    for name in ("dct", "dct_gop", "dct_random"):
        c, w, _ = timings[name]
        out |= {f"{name}_fps_cpu": n / c, f"{name}_speedup_cpu": fc / c, f"{name}_speedup_wall": fw / w}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", type=Path, help="a video pkdkit decodes (default: a natural CoViAR-format clip)")
    parser.add_argument("--frames", type=int, default=300, help="frames of the generated clip")
    parser.add_argument("--asp", action="store_true", help="generated clip with B-frames and quarter-pel")
    parser.add_argument("--xvid", action="store_true", help="generated clip as an XviD AVI with packed B-frames")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.input:
            path, name = args.input, str(args.input)
        elif args.xvid:
            made = make_xvid_packed_clip(Path(tmp) / "natural.avi", frames=args.frames)
            if isinstance(made, str):
                sys.exit(f"cannot write the XviD clip: {made}")
            path, name = made, "natural clip, XviD AVI with packed B-frames (libxvid -bf 2 -g 50 -q:v 4)"
        else:
            path = make_coviar_clip(Path(tmp) / "natural.mp4", frames=args.frames, asp=args.asp)
            name = f"natural CoViAR-format clip{' (ASP)' if args.asp else ''}"
        video = pkdkit.open(path)
        result = {"input": name}
        result |= {"size": f"{video.width}x{video.height}", "frame_types": video.frame_types[:24] + "..."}
        result |= run(Path(path), args.repeat)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{result['input']}, {result['size']}, {result['frames']} frames ({result['frame_types']})")
    print(f"full decode                       {result['full_fps_cpu']:8.1f} fps (CPU)")
    labels = (("dct", "coefficients, dct_frames"), ("dct_gop", "coefficients, dct_gop"))
    for name, label in (*labels, ("dct_random", "coefficients, dct per position")):
        print(
            f"{label:33s} {result[f'{name}_fps_cpu']:8.1f} fps (CPU), {result[f'{name}_speedup_cpu']:.2f}x "
            f"the full decode (CPU), {result[f'{name}_speedup_wall']:.2f}x (wall)"
        )


if __name__ == "__main__":
    main()
