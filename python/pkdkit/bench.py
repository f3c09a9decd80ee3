"""``pkdkit bench``: run the repository's benches and collect one table of ratios against the peers.

The benches are scripts in a source checkout's ``benches/`` folder (an installed wheel has none).
Each one runs in its own process with ``--json`` and compares pkdkit with a peer in the same run;
this module turns their JSON into rows ``(bench, measurement, pkdkit, peer, peer value, ratio)``
where ratio > 1 means pkdkit is faster. A bench whose peer is not installed, that is missing, or
that fails is reported as a note, never silently dropped.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["BENCHES", "BenchRow", "BenchReport", "run_benches", "find_benches", "render_table"]


@dataclass(frozen=True)
class BenchRow:
    """One comparison: pkdkit's and the peer's speed on the same work, same run.

    Attributes:
        bench: the bench script's name (``decode``, ...).
        measurement: what was timed.
        unit: unit of both values (higher is faster).
        pkdkit: pkdkit's speed.
        peer: the peer's name ("" when the bench has no peer).
        peer_value: the peer's speed (None without a peer).
        ratio: pkdkit / peer (> 1: pkdkit is faster), None without a peer.
    """

    bench: str
    measurement: str
    unit: str
    pkdkit: float
    peer: str = ""
    peer_value: float | None = None
    ratio: float | None = None


@dataclass
class BenchReport:
    """Rows of every bench run, notes on those skipped or failed, seconds per bench."""

    rows: list[BenchRow] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)


def _row(bench: str, what: str, unit: str, ours: float, peer: str, theirs: float | None) -> BenchRow:
    ratio = ours / theirs if theirs else None
    return BenchRow(bench, what, unit, float(ours), peer, None if theirs is None else float(theirs), ratio)


def _decode_rows(data: dict) -> tuple[list[BenchRow], str]:
    rows, notes = [], []
    clips = {"": data, **{f"{clip}: ": r for clip, r in data.get("clips", {}).items()}}
    for clip, result in clips.items():
        if "skipped" in result:
            notes.append(f"{clip}skipped: {result['skipped']}")
            continue
        for name, r in result["peers"].items():
            if "pkdkit_fps" in r:
                rows.append(_row("decode", f"{clip}{name}, 1 thread", "frames/s", r["pkdkit_fps"], "FFmpeg (PyAV)",
                                 r["ffmpeg_fps"]))
            else:
                notes.append(f"{clip}{name}: pkdkit failed: {r.get('pkdkit_error', '?')}")
    return rows, "; ".join(notes)


def _representations_rows(data: dict) -> tuple[list[BenchRow], str]:
    w = data["whole_video_1thread"]
    rows = [
        _row("representations", "whole video, I+MV+R, 1 thread", "frames/s", w["pkdkit_fps"],
             "numpy CoViAR on PyAV", w["numpy_coviar_on_pyav_fps"]),
    ]
    note = ""
    b = data["both_cores"]
    if "ratio" in b:
        rows.append(_row("representations", "whole video, 2 threads (pkdkit I+MV+R)", "frames/s",
                         b["pkdkit_all_representations_fps"], "mv-extractor (frames+MVs)",
                         b["mv_extractor_frames_and_vectors_fps"]))
        rows.append(_row("representations", "frames+MVs, 2 threads", "frames/s",
                         b["pkdkit_frames_and_vectors_fps"], "mv-extractor",
                         b["mv_extractor_frames_and_vectors_fps"]))
    else:
        note = "mv-extractor comparison skipped: pip install motion-vector-extractor (not a pkdkit dependency)"
    for rep, r in data["random_access"].items():
        rows.append(_row("representations", f"random access {rep}, load_batch", "samples/s",
                         r["load_batch_samples_per_s"], "PyAV+numpy from GOP start",
                         r["pyav_numpy_from_gop_start_samples_per_s"]))
    if "gop_vs_frames" in data:
        g = data["gop_vs_frames"]
        rows.append(_row("representations", "decode_gop (I+MV+R) vs frames(), 1 core", "frames/s",
                         g["decode_gop_fps_per_core"], "pkdkit frames()", g["frames_fps_per_core"]))
    c = data.get("coviar")
    if c is not None and "skipped" in c:
        note = "; ".join(n for n in (note, f"CoViAR's loader skipped: {c['skipped']}") if n)
    elif c is not None:
        t = c["samples_per_s_per_core"]
        for what, ours, theirs in (
            ("random I/MV/R, pkdkit.coviar.load, 1 core", "pkdkit_mixed", "coviar_mixed"),
            ("random MV, pkdkit.coviar.load, 1 core", "pkdkit_mv", "coviar_mv"),
            ("random MV, load_batch, 1 core", "load_batch_mv", "coviar_mv"),
            ("random I-frame, pkdkit.coviar.load, 1 core", "pkdkit_iframe", "coviar_iframe"),
        ):
            rows.append(_row("representations", what, "samples/s", t[ours], "CoViAR coviar.load", t[theirs]))
        rows.append(_row("representations", "I-frames, pkdkit.coviar.load vs batch, 1 core", "samples/s",
                         t["pkdkit_iframe"], "load_batch", t["load_batch_iframe"]))
        if "batch_of_one_iframe" in t:
            rows.append(_row("representations", "I-frames, pkdkit.coviar.load vs batches of one, 1 core",
                             "samples/s", t["pkdkit_iframe"], "load_batch of 1", t["batch_of_one_iframe"]))
    return rows, note


def _loader_rows(data: dict) -> tuple[list[BenchRow], str]:
    # Peers named pkdkit* use pkdkit's decoding; the others (pyav, pyav-percall) are the baselines.
    ours = [r for r in data["results"] if r["peer"].startswith("pkdkit")]
    theirs = [r for r in data["results"] if not r["peer"].startswith("pkdkit")]
    rows = [
        _row("loader", f"fused samples, {mine['peer']}, {mine['workers']} workers", "samples/s",
             mine["samples_per_s"], f"{other['peer']}, {other['workers']} workers", other["samples_per_s"])
        for mine in ours for other in theirs
    ]
    # Per CPU-second used (workers + main process): what a loaded, shared machine disturbs least.
    rows += [
        _row("loader", f"fused samples per CPU-second, {mine['peer']}", "samples/CPU-s", mine["samples_per_cpu_s"],
             other["peer"], other["samples_per_cpu_s"])
        for mine in ours for other in theirs
        if mine.get("samples_per_cpu_s") and other.get("samples_per_cpu_s")
    ]
    if not theirs:
        rows = [_row("loader", f"fused samples, {m['peer']}, {m['workers']} workers", "samples/s",
                     m["samples_per_s"], "", None) for m in ours]
    notes = [f"{peer} skipped: {why}" for peer, why in data.get("skipped", {}).items()]
    if not theirs:
        notes.append("no peer was run")
    return rows, "; ".join(notes)


def _train_step_rows(data: dict) -> tuple[list[BenchRow], str]:
    rows = []
    for r in data["rows"]:
        rows.append(_row("train_step", f"{r['modality']} backbone step", "samples/s",
                         r["backbone_step_samples_per_s"], "", None))
        rows.append(_row("train_step", f"{r['modality']} PKD step", "samples/s", r["pkd_step_samples_per_s"], "", None))
    return rows, "no peer: throughput only"


def _flatness_rows(data: dict) -> tuple[list[BenchRow], str]:
    base = data["methods"]["PyHessian"]
    rows = []
    for name in ("pkdkit lanczos", "pkdkit power"):
        ours = data["methods"][name]
        if ours["seconds_to_1pct"] and base["seconds_to_1pct"]:
            # Speeds as 1/seconds so that ratio > 1 means pkdkit is faster, like every other row.
            rows.append(_row("flatness", f"top eigenvalue to 1%, {name}", "1/s", 1 / ours["seconds_to_1pct"],
                             "PyHessian", 1 / base["seconds_to_1pct"]))
    return rows, "" if rows else "no method reached 1% of the reference"


@dataclass(frozen=True)
class Bench:
    """How to run one bench script and read its JSON.

    Attributes:
        script: file name in the benches folder.
        json_to_file: the script takes ``--json FILE`` (else ``--json`` prints to stdout).
        quick: extra arguments of ``--quick`` (fewer frames, repeats, steps).
        rows: JSON -> rows and a note.
        needs: Python modules the bench needs that pkdkit does not install (pip name in the note).
    """

    script: str
    json_to_file: bool
    quick: tuple[str, ...]
    rows: Callable[[dict], tuple[list[BenchRow], str]]
    needs: dict[str, str] = field(default_factory=dict)


BENCHES: dict[str, Bench] = {
    "decode": Bench("decode.py", False, ("--frames", "60", "--repeat", "2"), _decode_rows),
    "representations": Bench(
        "representations.py", False, ("--frames", "48", "--repeat", "1", "--samples", "16"), _representations_rows
    ),
    "loader": Bench("loader.py", False, ("--videos", "8", "--batches", "3", "--warmup", "1"), _loader_rows),
    "train_step": Bench("train_step.py", True, ("--steps", "3", "--warmup", "1"), _train_step_rows),
    "flatness": Bench(
        "flatness.py", True, ("--seeds", "1", "--train-steps", "30", "--classes", "10"), _flatness_rows,
        needs={"pyhessian": "pyhessian"},
    ),
}


def find_benches(benches: str | Path) -> Path:
    """The benches folder, checked.

    Raises:
        FileNotFoundError: no such folder, or it holds none of the bench scripts.
    """
    folder = Path(benches)
    if not folder.is_dir() or not any((folder / b.script).is_file() for b in BENCHES.values()):
        raise FileNotFoundError(
            f"{folder}: no benches folder here (expected {', '.join(b.script for b in BENCHES.values())}); "
            "`pkdkit bench` runs the scripts of a source checkout's benches/ folder, which an installed "
            "wheel does not have: run it from the repository root or pass --benches DIR"
        )
    return folder


def _parse_only(only: str | Sequence[str] | None) -> list[str]:
    if only is None:
        return list(BENCHES)
    names = [n.strip() for n in (only.split(",") if isinstance(only, str) else only) if n.strip()]
    unknown = [n for n in names if n not in BENCHES]
    if unknown or not names:
        raise ValueError(f"unknown benches {unknown or only!r}; choose from {', '.join(BENCHES)}")
    return names


def run_benches(
    benches: str | Path = "benches",
    *,
    only: str | Sequence[str] | None = None,
    quick: bool = False,
    say: Callable[[str], None] | None = None,
) -> BenchReport:
    """Runs the bench scripts (each in its own process) and collects their comparisons.

    Args:
        benches: the repository's benches folder.
        only: bench names (``"decode,representations"`` or a list); None: all of :data:`BENCHES`.
        quick: fewer frames, repeats and steps (numbers are noisier).
        say: called with one progress line per bench.

    Returns:
        The rows, plus a note for each bench skipped (missing script or peer) or failed.

    Raises:
        FileNotFoundError: no benches folder.
        ValueError: an unknown bench name.
    """
    folder = find_benches(benches)
    names = _parse_only(only)
    report = BenchReport()
    say = say or (lambda _: None)
    for name in names:
        bench = BENCHES[name]
        script = folder / bench.script
        if not script.is_file():
            report.notes[name] = f"skipped: {script} does not exist"
            say(f"{name}: skipped (no {script})")
            continue
        missing = [pip for module, pip in bench.needs.items() if importlib.util.find_spec(module) is None]
        if missing:
            report.notes[name] = f"skipped: needs {', '.join(missing)} (pip install {' '.join(missing)})"
            say(f"{name}: skipped ({report.notes[name]})")
            continue
        say(f"{name}: running {script.name} ...")
        started = time.perf_counter()
        try:
            data = _run_script(script, bench, quick)
        except RuntimeError as err:
            report.notes[name] = f"failed: {err}"
        else:
            report.raw[name] = data
            rows, note = bench.rows(data)
            report.rows.extend(rows)
            if note:
                report.notes[name] = note
        report.seconds[name] = round(time.perf_counter() - started, 1)
        say(f"{name}: {'failed' if name not in report.raw else 'done'} in {report.seconds[name]:.0f} s")
    return report


def _run_script(script: Path, bench: Bench, quick: bool) -> dict:
    """Runs one bench with ``--json`` and returns its JSON (RuntimeError with its stderr on failure)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        args = [sys.executable, str(script), *(bench.quick if quick else ()), "--json"]
        if bench.json_to_file:
            args.append(str(out))
        done = subprocess.run(args, capture_output=True, text=True, cwd=script.parent.parent)
        if done.returncode != 0:
            tail = (done.stderr.strip() or done.stdout.strip()).splitlines()[-3:]
            raise RuntimeError(f"{script.name} exited with {done.returncode}: {' | '.join(tail)}")
        text = out.read_text() if bench.json_to_file else done.stdout
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise RuntimeError(f"{script.name} did not print JSON ({err})") from None


def render_table(report: BenchReport) -> Any:
    """The report as a :class:`rich.table.Table` (ratio = pkdkit / peer, > 1: pkdkit faster)."""
    from rich.table import Table

    table = Table(title="pkdkit vs peers (same run; ratio > 1: pkdkit is faster)")
    for column in ("bench", "measurement", "unit", "pkdkit", "peer", "peer value", "ratio"):
        table.add_column(column, justify="right" if column in ("pkdkit", "peer value", "ratio") else "left")
    for r in report.rows:
        table.add_row(
            r.bench, r.measurement, r.unit, f"{r.pkdkit:.4g}", r.peer or "-",
            "-" if r.peer_value is None else f"{r.peer_value:.4g}",
            "-" if r.ratio is None else f"{r.ratio:.2f}x",
        )
    return table
