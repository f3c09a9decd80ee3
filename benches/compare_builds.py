"""Two builds of pkdkit on the same clip in one session: is one slower than the other?

Each round runs ``decode.py --input CLIP --json`` once per build, each in its own process with the
build first on ``PYTHONPATH`` (the order alternates from round to round), so both meet the same
machine load. Inside each process decode.py races the build against FFmpeg (PyAV) pass by pass, so
every round gives each build a pkdkit/FFmpeg ratio measured under the same load as FFmpeg's; the
comparison is the ratio of those ratios (candidate / baseline: < 1 means the candidate is slower),
with the best pkdkit fps of each build beside it.

Build the baseline into a folder of its own, e.g. for a commit ``REV``::

    git archive REV | tar -x -C /tmp/base/src
    (cd /tmp/base/src && maturin build --release -o /tmp/base/wheel)
    pip install --no-deps --target /tmp/base/site /tmp/base/wheel/*.whl
    python benches/compare_builds.py --baseline /tmp/base/site

The candidate is the pkdkit this interpreter imports, unless ``--candidate`` names another folder.
The clip is decode.py's Simple Profile clip (``--asp``: its Advanced Simple one), or ``--input``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from natural_clip import make_coviar_clip  # noqa: E402

DECODE = Path(__file__).parent / "decode.py"


def one_pass(site: Path | None, clip: Path, repeat: int, peer: str) -> dict:
    """decode.py's row for ``peer`` with the build at ``site`` (None: the default import)."""
    env = dict(os.environ)
    if site is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(site), *filter(None, [env.get("PYTHONPATH")])])
    command = [sys.executable, str(DECODE), "--input", str(clip), "--repeat", str(repeat), "--json"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    results = json.loads(done.stdout)
    row = results["peers"][peer]
    if "pkdkit_fps" not in row:
        raise SystemExit(f"pkdkit failed with {site}: {row.get('pkdkit_error')}")
    return {**row, "module": results["pkdkit_module"]}


def compare(baseline: Path, candidate: Path | None, clip: Path, rounds: int, repeat: int, peer: str) -> dict:
    builds = {"baseline": baseline, "candidate": candidate}
    runs: dict[str, list[dict]] = {name: [] for name in builds}
    for k in range(rounds):
        order = list(builds) if k % 2 == 0 else list(reversed(builds))
        for name in order:
            runs[name].append(one_pass(builds[name], clip, repeat, peer))
    modules = {name: {r["module"] for r in rows} for name, rows in runs.items()}
    if modules["baseline"] == modules["candidate"]:
        raise SystemExit(f"both builds import the same pkdkit: {modules['baseline']}")
    per_round = [c["speedup"] / b["speedup"] for b, c in zip(runs["baseline"], runs["candidate"])]
    summary = {
        name: {
            "module": sorted(modules[name])[0],
            "best_pkdkit_fps": max(r["pkdkit_fps"] for r in rows),
            "median_speedup_vs_ffmpeg": statistics.median(r["speedup"] for r in rows),
            "speedups_vs_ffmpeg": [r["speedup"] for r in rows],
        }
        for name, rows in runs.items()
    }
    return {
        "clip": str(clip),
        "peer": peer,
        "rounds": rounds,
        "repeat": repeat,
        "builds": summary,
        "candidate_over_baseline_per_round": per_round,
        "candidate_over_baseline_median": statistics.median(per_round),
        "candidate_over_baseline_best_fps": summary["candidate"]["best_pkdkit_fps"]
        / summary["baseline"]["best_pkdkit_fps"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", type=Path, required=True, help="folder holding the baseline pkdkit package")
    parser.add_argument("--candidate", type=Path, help="folder holding the candidate (default: the usual import)")
    parser.add_argument("--input", type=Path, help="clip to decode (default: decode.py's rendered clip)")
    parser.add_argument("--frames", type=int, default=300, help="frames of the rendered clip")
    parser.add_argument("--asp", action="store_true", help="render the Advanced Simple Profile clip instead")
    parser.add_argument("--rounds", type=int, default=6, help="processes per build, alternating")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes per process (best is kept)")
    parser.add_argument("--peer", default="decode", choices=["decode", "decode+mv+bgr"], help="decode.py row")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a summary")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        clip = args.input
        if clip is None:
            clip = Path(tmp) / ("asp_natural.m4v" if args.asp else "coviar_natural.m4v")
            make_coviar_clip(clip, frames=args.frames, asp=args.asp)
        result = compare(args.baseline, args.candidate, clip, args.rounds, args.repeat, args.peer)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{result['peer']} of {result['clip']}, {args.rounds} rounds x best of {args.repeat} passes")
    for name, b in result["builds"].items():
        speedups = " ".join(f"{s:.2f}" for s in b["speedups_vs_ffmpeg"])
        print(f"{name:<9} {b['module']}\n  best {b['best_pkdkit_fps']:.1f} fps; pkdkit/FFmpeg per round {speedups}"
              f" (median {b['median_speedup_vs_ffmpeg']:.3f})")
    per_round = " ".join(f"{r:.3f}" for r in result["candidate_over_baseline_per_round"])
    print(f"candidate/baseline (ratio of pkdkit/FFmpeg ratios) per round: {per_round}")
    print(f"median {result['candidate_over_baseline_median']:.3f}; best fps ratio "
          f"{result['candidate_over_baseline_best_fps']:.3f}")


if __name__ == "__main__":
    main()
