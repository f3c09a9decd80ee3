"""Damaged Advanced Simple Profile streams (B-frames, quarter-pel): no crash, no hang."""

from __future__ import annotations

from pathlib import Path

from mutation_loop import run_mutation_loop

from clips import ClipSpec, make_clip


def test_mutated_asp_streams_never_crash_or_hang(tmp_path: Path) -> None:
    path = make_clip(tmp_path / "asp.m4v", ClipSpec(frames=16, gop=8, bf=2, flags=("qpel", "mv4"), seed=3))
    outcomes = run_mutation_loop(path, seed=7, runs=150)
    assert outcomes["ok"] > 0 and outcomes["damaged_frames"] > 0  # damage was met and concealed
