"""``pkdkit prepare`` on a tiny synthetic tree with one corrupt video."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from av.video.frame import PictureType
from click.testing import CliRunner
from vop_headers import vop_quants

from pkdkit.cli import main
from pkdkit.data.prepare import parse_shard, prepare_dataset, shard_of
from pkdkit.data.synth import synth_dataset

from clips import ffmpeg_frames

BROKEN = "MoveLeft/v_MoveLeft_g02_c01.m4v"


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("prepare") / "videos"
    synth_dataset(root, 3, 4, frames=16, size=(64, 48), seed=1, workers=1, progress=False)
    (root / BROKEN).write_bytes(b"\x00\x00\x01\xb0 this is not a video" * 50)
    return root


def _outputs(out: Path) -> dict[str, float]:
    return {str(p.relative_to(out)): p.stat().st_mtime_ns for p in out.rglob("*.m4v")}


def test_prepare_reencodes_reports_the_broken_video_and_resumes(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["prepare", "ucf101", "--videos", str(source), "--splits", str(source), "--out", str(out),
               "--size", "48x32", "--gop", "6", "--workers", "2"],
    )
    assert result.exit_code == 1
    assert f"FAILED {BROKEN}" in result.output and "11 encoded" in result.output
    assert BROKEN in (out / "prepare.log").read_text()
    outputs = _outputs(out)
    assert len(outputs) == 11 and BROKEN not in outputs
    for name in outputs:
        frames = ffmpeg_frames(out / name)
        assert len(frames) == 16 and {(f.width, f.height) for f in frames} == {(48, 32)}
        assert "".join(PictureType(f.pict_type).name for f in frames) == "IPPPPPIPPPPPIPPP"
        assert vop_quants((out / name).read_bytes(), 5) == [1] * 16
    train = (out / "datalists" / "ucf101_split1_train.txt").read_text().splitlines()
    test = (out / "datalists" / "ucf101_split1_test.txt").read_text().splitlines()
    assert len(train) + len(test) == 11
    for line in train + test:
        path, label, frames = line.split()
        assert (out / path).is_file() and frames == "16"
        assert ["MoveRight", "MoveLeft", "MoveUp"][int(label)] == path.split("/")[0]
    assert f"{BROKEN} 1 16" not in train + test
    lists_before = {p.name: p.read_text() for p in (out / "datalists").iterdir()}

    # A rerun converts nothing new, touches no finished file and writes the same datalists.
    again = prepare_dataset("ucf101", source, out, splits=source, size=(48, 32), gop=6, workers=1, progress=False)
    assert again.encoded == [] and len(again.skipped) == 11 and [v for v, _ in again.failed] == [BROKEN]
    assert _outputs(out) == outputs
    assert {p.name: p.read_text() for p in (out / "datalists").iterdir()} == lists_before

    # An interrupted run leaves at most a temporary file, which does not count as done.
    victim = out / "MoveUp/v_MoveUp_g01_c02.m4v"
    victim.rename(victim.with_name(f".{victim.name}.999.tmp"))
    resumed = prepare_dataset("ucf101", source, out, splits=source, size=(48, 32), gop=6, workers=1, progress=False)
    assert resumed.encoded == ["MoveUp/v_MoveUp_g01_c02.m4v"]
    assert victim.is_file()

    # Resuming with other settings would mix two formats in one folder: refused.
    with pytest.raises(ValueError, match=r"prepared with \{'size': '48x32', 'gop': 6"):
        prepare_dataset("ucf101", source, out, splits=source, size=(64, 48), gop=6, workers=1, progress=False)


def test_prepare_shards_partition_the_work(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    parts = []
    for k in (1, 2, 3):
        report = prepare_dataset(
            "folder", source, out, size=(32, 32), shard=(k, 3), workers=1, progress=False, seed=2
        )
        assert report.datalists == []
        parts.append(set(report.encoded) | {v for v, _ in report.failed})
    assert not parts[0] & parts[1] and not parts[1] & parts[2] and not parts[0] & parts[2]
    assert len(parts[0] | parts[1] | parts[2]) == 12
    assert sorted(len(p) for p in parts) == [4, 4, 4]
    # The closing run without --shard converts nothing and writes the datalists.
    final = prepare_dataset("folder", source, out, size=(32, 32), workers=1, progress=False, seed=2)
    assert final.encoded == [] and len(final.skipped) == 11
    assert [p.name for p in final.datalists] == ["folder_split1_train.txt", "folder_split1_test.txt"]
    lines = [line for p in final.datalists for line in p.read_text().splitlines()]
    assert len(lines) == 11 and all(line.endswith(" 16") for line in lines)


def test_shard_of_and_parse_shard() -> None:
    videos = [f"c/v{i}.avi" for i in range(10)] * 2  # duplicates appear in several splits
    shards = [shard_of(videos, (k, 4)) for k in range(1, 5)]
    assert sorted(sum(shards, [])) == sorted(set(videos))
    assert [len(s) for s in shards] == [3, 3, 2, 2]
    assert shard_of(videos, None) == sorted(set(videos))
    assert parse_shard("2/4") == (2, 4) and parse_shard(None) is None
    for bad in ("0/4", "5/4", "x", "1/2/3"):
        with pytest.raises(ValueError, match="shard"):
            parse_shard(bad)


def test_prepare_keep_original(source: Path, tmp_path: Path) -> None:
    clean = tmp_path / "videos"
    shutil.copytree(source, clean)
    (clean / BROKEN).unlink()
    out = tmp_path / "out"
    report = prepare_dataset("folder", clean, out, keep_original=True, workers=1, progress=False)
    assert report.encoded == [] and not report.failed and not list(out.rglob("*.m4v"))
    lines = [line for p in report.datalists for line in p.read_text().splitlines()]
    assert len(lines) == 11
    for line in lines:
        path, _, frames = line.split()
        assert path.startswith("../videos/") and (out / path).resolve().is_file() and frames == "16"


def test_prepare_fails_cleanly(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["prepare", "folder", "--videos", str(tmp_path / "no"), "--out", str(tmp_path)])
    assert result.exit_code == 1 and "no such videos folder" in result.output
    result = CliRunner().invoke(
        main, ["prepare", "ucf101", "--videos", str(tmp_path), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 1 and "--splits DIR" in result.output
    result = CliRunner().invoke(
        main, ["prepare", "folder", "--videos", str(tmp_path), "--out", str(tmp_path / "o"), "--shard", "3/2"]
    )
    assert result.exit_code == 1 and "shard '3/2'" in result.output


def _children(pid: int) -> set[int]:
    """Live (non-zombie) processes whose parent is ``pid``."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            state, ppid = stat.rsplit(")", 1)[1].split()[:2]
            if int(ppid) == pid and state != "Z":
                found.add(int(entry.name))
    return found


def _gone(pid: int) -> bool:
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"  # an orphan the container's init never reaps


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process trees from Linux's /proc")
def test_prepare_workers_exit_when_the_main_process_is_killed(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    videos = tmp_path / "videos"
    synth_dataset(videos, 2, 4, frames=48, size=(176, 144), seed=3, workers=1, progress=False)
    run = subprocess.Popen(
        [sys.executable, "-m", "pkdkit.cli", "prepare", "folder", "--videos", str(videos), "--out",
         str(tmp_path / "out"), "--workers", "2", "--size", "352x288"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 60
        while len(workers) < 2 and time.monotonic() < deadline and run.poll() is None:
            workers = _children(run.pid)
            time.sleep(0.05)
        assert len(workers) >= 2, "the pool never started"
        assert not list((tmp_path / "out").rglob("*.m4v")), "too quick: workers were idle when killed"
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not all(_gone(pid) for pid in workers):
            time.sleep(0.1)
        assert all(_gone(pid) for pid in workers), f"workers left running: {[p for p in workers if not _gone(p)]}"
    finally:
        run.kill()
        for pid in workers:
            if not _gone(pid):
                os.kill(pid, signal.SIGKILL)
