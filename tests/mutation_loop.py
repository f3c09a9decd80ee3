"""The mutation loop the decoder tests share: damaged copies of a stream decoded in a child process.

Each mutated file is opened and decoded in full; only :class:`pkdkit.VideoError` may come out, and
frames that do come out have the right size. The loop runs in a child process with a time limit,
so a hang or a crash of the process fails the test instead of stalling or killing the run.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

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


def run_mutation_loop(path: Path, seed: int, runs: int, timeout: float = 300) -> dict[str, int]:
    """Decode ``runs`` mutants of ``path`` in a child process; return its outcome counts
    (``ok``, ``error``, ``damaged_frames``), after checking the child neither crashed nor hung."""
    result = subprocess.run(
        [sys.executable, "-c", LOOP, str(path), str(seed), str(runs)], capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, result.stderr[-3000:]
    outcomes = ast.literal_eval(result.stdout.strip().splitlines()[-1])  # a dict literal printed by the loop
    assert outcomes["ok"] + outcomes["error"] == runs, outcomes
    return outcomes
