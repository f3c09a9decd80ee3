"""`pkdkit bench`: running bench scripts in their own process, reading their JSON into ratio rows,
and reporting missing, failing or peer-less benches as notes. The scripts here are stand-ins that
print known JSON, so every ratio has a closed-form answer."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from pkdkit.bench import BENCHES, find_benches, run_benches


def _script(folder: Path, name: str, payload: dict | None, *, to_file: bool = False, fail: bool = False) -> None:
    if fail:
        body = "import sys\nprint('decoder exploded on frame 3', file=sys.stderr)\nsys.exit(2)\n"
    elif to_file:
        body = f"import json, sys\nopen(sys.argv[sys.argv.index('--json') + 1], 'w').write(json.dumps({payload!r}))\n"
    else:
        body = f"import json, sys\nassert sys.argv[-1] == '--json'\nprint(json.dumps({payload!r}))\n"
    (folder / name).write_text(textwrap.dedent(body))


DECODE = {
    "peers": {
        "decode": {"frames": 300, "ffmpeg_fps": 100.0, "pkdkit_fps": 250.0, "speedup": 2.5},
        "decode+mv+bgr": {"frames": 300, "ffmpeg_fps": 80.0, "pkdkit_error": "UnsupportedCodecError: no"},
    },
    "clips": {
        "xvid_packed_b": {"peers": {"decode": {"frames": 298, "ffmpeg_fps": 200.0, "pkdkit_fps": 300.0}}},
        "other": {"skipped": "no ffmpeg command"},
    },
}
TRAIN_STEP = {"rows": [{"modality": "mv", "backbone_step_samples_per_s": 40.0, "pkd_step_samples_per_s": 30.0}]}


def test_rows_ratios_and_notes(tmp_path):
    _script(tmp_path, "decode.py", DECODE)
    _script(tmp_path, "train_step.py", TRAIN_STEP, to_file=True)
    _script(tmp_path, "loader.py", None, fail=True)
    lines: list[str] = []
    report = run_benches(tmp_path, only="decode,train_step,loader,representations", say=lines.append)
    decode = [r for r in report.rows if r.bench == "decode"]
    assert len(decode) == 2 and decode[0].ratio == pytest.approx(2.5) and decode[0].peer_value == 100.0
    assert decode[1].measurement == "xvid_packed_b: decode, 1 thread" and decode[1].ratio == pytest.approx(1.5)
    assert "UnsupportedCodecError" in report.notes["decode"]
    assert "other: skipped: no ffmpeg command" in report.notes["decode"]
    steps = [r for r in report.rows if r.bench == "train_step"]
    assert [r.pkdkit for r in steps] == [40.0, 30.0] and all(r.ratio is None for r in steps)
    assert "exited with 2" in report.notes["loader"] and "frame 3" in report.notes["loader"]
    assert report.notes["representations"].startswith("skipped")
    assert any("loader" in line for line in lines)


def test_missing_peer_module_is_a_note(tmp_path, monkeypatch):
    _script(tmp_path, "flatness.py", {"methods": {}}, to_file=True)
    monkeypatch.setitem(BENCHES["flatness"].needs, "surely_not_installed_module", "surely-not-installed")
    report = run_benches(tmp_path, only=["flatness"])
    assert report.rows == [] and "pip install" in report.notes["flatness"]


def test_flatness_rows_are_speeds(tmp_path):
    payload = {"methods": {
        "PyHessian": {"seconds_to_1pct": 2.0},
        "pkdkit lanczos": {"seconds_to_1pct": 0.5},
        "pkdkit power": {"seconds_to_1pct": None},
    }}
    rows, note = BENCHES["flatness"].rows(payload)
    assert len(rows) == 1 and rows[0].ratio == pytest.approx(4.0) and note == ""


def test_no_benches_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="installed wheel"):
        find_benches(tmp_path / "nowhere")
    _script(tmp_path, "decode.py", DECODE)
    with pytest.raises(ValueError, match="unknown benches"):
        run_benches(tmp_path, only="decode,speed")


def test_cli_table_and_json(tmp_path):
    from pkdkit.cli import main

    _script(tmp_path, "decode.py", DECODE)
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(main, ["bench", "--benches", str(tmp_path), "--only", "decode", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "2.50x" in result.output
    saved = json.loads(out.read_text())
    assert saved["rows"][0]["ratio"] == pytest.approx(2.5)
    missing = CliRunner().invoke(main, ["bench", "--benches", str(tmp_path / "nowhere")])
    assert missing.exit_code == 1 and "installed wheel" in missing.output


def test_loader_rows_pair_every_pkdkit_peer_with_every_baseline():
    payload = {"results": [
        {"peer": "pkdkit", "workers": 2, "samples_per_s": 8.0},
        {"peer": "pkdkit-inproc", "workers": 0, "samples_per_s": 6.0},
        {"peer": "pyav", "workers": 2, "samples_per_s": 2.0},
        {"peer": "pyav-percall", "workers": 2, "samples_per_s": 4.0},
    ]}
    rows, note = BENCHES["loader"].rows(payload)
    assert {(r.measurement.split(",")[1].strip(), r.peer.split(",")[0], r.ratio) for r in rows} == {
        ("pkdkit", "pyav", 4.0), ("pkdkit", "pyav-percall", 2.0),
        ("pkdkit-inproc", "pyav", 3.0), ("pkdkit-inproc", "pyav-percall", 1.5),
    }
    assert note == ""


def test_loader_rows_add_samples_per_cpu_second_where_measured():
    payload = {"results": [
        {"peer": "pkdkit", "workers": 2, "samples_per_s": 8.0, "samples_per_cpu_s": 60.0},
        {"peer": "coviar", "workers": 2, "samples_per_s": 2.0, "samples_per_cpu_s": 20.0},
        {"peer": "pyav", "workers": 2, "samples_per_s": 2.0},
    ]}
    rows, _ = BENCHES["loader"].rows(payload)
    per_cpu = [r for r in rows if r.unit == "samples/CPU-s"]
    assert [(r.peer, r.ratio) for r in per_cpu] == [("coviar", 3.0)]  # pyav has no CPU time: no row
    assert len(rows) == 3


REPRESENTATIONS = {
    "whole_video_1thread": {"pkdkit_fps": 500.0, "numpy_coviar_on_pyav_fps": 25.0},
    "both_cores": {"pkdkit_fps": 900.0, "mv_extractor": "not installed"},
    "random_access": {},
    "gop_vs_frames": {"decode_gop_fps_per_core": 700.0, "frames_fps_per_core": 1000.0},
}


def test_representations_rows_compare_with_coviars_loader():
    payload = dict(REPRESENTATIONS, coviar={"samples_per_s_per_core": {
        "pkdkit_mixed": 600.0, "coviar_mixed": 200.0, "pkdkit_mv": 900.0, "coviar_mv": 100.0,
        "load_batch_mv": 1000.0, "pkdkit_iframe": 1500.0, "coviar_iframe": 500.0, "load_batch_iframe": 2000.0,
        "batch_of_one_iframe": 1000.0,
    }})
    rows, note = BENCHES["representations"].rows(payload)
    ratios = {r.measurement: r.ratio for r in rows}
    assert ratios["decode_gop (I+MV+R) vs frames(), 1 core"] == pytest.approx(0.7)
    assert ratios["random I/MV/R, pkdkit.coviar.load, 1 core"] == pytest.approx(3.0)
    assert ratios["random MV, pkdkit.coviar.load, 1 core"] == pytest.approx(9.0)
    assert ratios["random MV, load_batch, 1 core"] == pytest.approx(10.0)
    assert ratios["I-frames, pkdkit.coviar.load vs batch, 1 core"] == pytest.approx(0.75)
    assert ratios["I-frames, pkdkit.coviar.load vs batches of one, 1 core"] == pytest.approx(1.5)
    assert "mv-extractor" in note and "CoViAR" not in note


def test_missing_coviar_loader_is_a_note_not_a_row():
    rows, note = BENCHES["representations"].rows(dict(REPRESENTATIONS, coviar={"skipped": "not importable"}))
    assert not any(r.peer == "CoViAR coviar.load" for r in rows)
    assert "CoViAR's loader skipped: not importable" in note
    loader_rows, loader_note = BENCHES["loader"].rows({
        "results": [{"peer": "pkdkit", "workers": 2, "samples_per_s": 8.0},
                    {"peer": "pyav", "workers": 2, "samples_per_s": 2.0}],
        "skipped": {"coviar": "not importable"},
    })
    assert [r.ratio for r in loader_rows] == [4.0] and loader_note == "coviar skipped: not importable"
