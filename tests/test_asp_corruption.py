"""Damaged Advanced Simple Profile streams (B-frames, quarter-pel): no crash, no hang.

Each mutated file is opened and decoded in full; only :class:`pkdkit.VideoError` may come out, and
frames that do come out have the right size. The loop runs in a child process with a time limit,
so a hang or a crash of the process fails the test instead of stalling or killing the run.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from clips import ClipSpec, make_clip

LOOP = textwrap.dedent(
    """
    import random, sys
    import pkdkit

    data = open(sys.argv[1], "rb").read()
    rng = random.Random(int(sys.argv[2]))
    outcomes = {"ok": 0, "error": 0, "damaged_frames": 0}
    for i in range(int(sys.argv[3])):
        buf = bytearray(data)
        kind = i % 3
        if kind == 0:  # flip bits after the headers
            for _ in range(rng.randint(1, 8)):
                at = rng.randrange(40, len(buf))
                buf[at] ^= 1 << rng.randrange(8)
        elif kind == 1:  # overwrite a run with garbage
            at = rng.randrange(40, len(buf) - 64)
            buf[at : at + 32] = bytes(rng.randrange(256) for _ in range(32))
        else:  # truncate
            buf = buf[: rng.randrange(40, len(buf))]
        path = sys.argv[1] + ".mut"
        open(path, "wb").write(bytes(buf))
        try:
            video = pkdkit.open(path, fallback=False)
            for frame in video.frames():
                y = frame.yuv[0]
                assert y.shape == (video.height, video.width), y.shape
                outcomes["damaged_frames"] += frame.damaged
            outcomes["ok"] += 1
        except pkdkit.VideoError:
            outcomes["error"] += 1
    print(outcomes)
    """
)


def test_mutated_asp_streams_never_crash_or_hang(tmp_path: Path) -> None:
    path = make_clip(tmp_path / "asp.m4v", ClipSpec(frames=16, gop=8, bf=2, flags=("qpel", "mv4"), seed=3))
    result = subprocess.run(
        [sys.executable, "-c", LOOP, str(path), "7", "150"], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    outcomes = eval(result.stdout.strip().splitlines()[-1])  # a dict literal printed by the loop
    assert outcomes["ok"] + outcomes["error"] == 150
    assert outcomes["ok"] > 0 and outcomes["damaged_frames"] > 0  # damage was met and concealed
