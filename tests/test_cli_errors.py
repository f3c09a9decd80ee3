"""The CLI's one error boundary: every command turns an error into one line
``pkdkit: error: <file>: <problem>`` on stderr and exit code 1; ``--debug`` or ``PKDKIT_DEBUG=1``
shows the traceback instead. Also: messages about bad model and logits files name the file
and what was expected, and never advise loading pickles."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from pkdkit import evaluate, wise
from pkdkit.cli import main
from pkdkit.data.synth import synth_dataset

from clips import ClipSpec, make_clip


def one_line_error(result, *needles: str) -> str:
    """Assert ``result`` is exit 1 with one ``pkdkit: error:`` line holding every needle."""
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert len(lines) == 1 and lines[0].startswith("pkdkit: error: "), result.output
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("cli_inputs")
    clip = make_clip(d / "clip.m4v", ClipSpec(64, 48, frames=8, gop=4))
    logits = d / "logits.npz"
    rng = np.random.default_rng(0)
    costs = np.arange(1, 13, dtype=np.float64)
    evaluate.save_logits(
        logits, evaluate.ExitLogits(rng.normal(size=(12, 40, 3)).astype(np.float32), rng.integers(0, 3, 40),
                                    list(wise.CASCADE), costs)
    )
    model = d / "model.json"
    assert CliRunner().invoke(main, ["wise", "fit", "--train-logits", str(logits), "--out", str(model),
                                     "--iterations", "2", "--device", "cpu"]).exit_code == 0
    blocker = d / "a_file"
    blocker.write_text("not a folder")
    synth = d / "synth"
    synth_dataset(synth, 2, 2, frames=8, size=(32, 32), gop=4, seed=1, workers=1, progress=False)
    videos = d / "videos" / "ClassA"
    videos.mkdir(parents=True)
    (videos / "v.m4v").write_bytes(clip.read_bytes())
    return {"clip": clip, "logits": logits, "model": model, "blocker": blocker, "synth": synth,
            "videos": d / "videos"}


def test_unwritable_out_is_one_line_in_every_command(inputs: dict[str, Path]) -> None:
    """``--out`` under a regular file (no write permission tricks needed)."""
    blocked = inputs["blocker"] / "sub"
    commands = {
        "extract": ["extract", str(inputs["clip"]), "--gop", "0", "--rep", "iframe", "--out", f"{blocked}/x.npy"],
        "show": ["show", str(inputs["clip"]), "--gop", "0", "--pos", "1", "--out", f"{blocked}/x.png"],
        "wise fit": ["wise", "fit", "--train-logits", str(inputs["logits"]), "--out", f"{blocked}/m.json",
                     "--iterations", "1", "--device", "cpu"],
        "wise eval": ["wise", "eval", "--model", str(inputs["model"]), "--test-logits", str(inputs["logits"]),
                      "--out", str(blocked)],
        "prepare": ["prepare", "folder", "--videos", str(inputs["videos"]), "--out", str(blocked), "--workers", "1"],
        "train": ["train", "backbone", "--modality", "mv", "--arch", "resnet10_tiny", "--data", str(inputs["synth"]),
                  "--out", str(blocked), "--epochs", "1", "--batch-size", "2", "--workers", "0", "--device", "cpu",
                  "--quiet"],
    }
    for name, args in commands.items():
        result = CliRunner().invoke(main, args)
        line = one_line_error(result, str(inputs["blocker"]))
        assert "Not a directory" in line or "File exists" in line, (name, line)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"{}", "lacks weights"),
        (b"[1, 2, 3]", "holds a JSON list"),
        (b'{"names": ["R1"], "weights": [[1.0,', "not valid JSON"),
        (bytes(range(256)), "a binary file"),
        (b'{"names": 3, "weights": "x", "costs": [], "variant": "wise"}', "malformed WISE model"),
    ],
)
def test_bad_wise_model_files_name_the_file(tmp_path: Path, inputs: dict[str, Path], content: bytes,
                                            problem: str) -> None:
    bad = tmp_path / "bad_model.json"
    bad.write_bytes(content)
    result = CliRunner().invoke(main, ["wise", "eval", "--model", str(bad), "--test-logits", str(inputs["logits"]),
                                       "--out", str(tmp_path / "rep")])
    one_line_error(result, str(bad), problem, "expected a WISE model")


@pytest.mark.parametrize(
    ("content", "problem"),
    [(b"0.1 0.2\n0.3 0.4\n", "not a numpy file"), (b"PK\x03\x04truncated", "truncated or damaged")],
)
def test_bad_logits_files_name_the_file_and_never_suggest_pickles(
    tmp_path: Path, inputs: dict[str, Path], content: bytes, problem: str
) -> None:
    bad = tmp_path / "logits.txt"
    bad.write_bytes(content)
    result = CliRunner().invoke(main, ["wise", "eval", "--model", str(inputs["model"]), "--test-logits", str(bad),
                                       "--out", str(tmp_path / "rep")])
    line = one_line_error(result, str(bad), problem, "expected a logits file")
    assert "pickle" not in line
    array = tmp_path / "one.npy"
    np.save(array, np.zeros(3))
    result = CliRunner().invoke(main, ["wise", "fit", "--train-logits", str(array), "--out", str(tmp_path / "m.json")])
    one_line_error(result, str(array), "not an .npz archive")


def test_unexpected_errors_are_one_line_with_their_type(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        inputs: dict[str, Path]) -> None:
    import pkdkit.representations

    def broken(*args, **kwargs):
        raise KeyError("weights")

    monkeypatch.setattr(pkdkit.representations, "extract", broken)
    args = ["extract", str(inputs["clip"]), "--gop", "0", "--rep", "iframe", "--out", str(tmp_path / "x.npy")]
    one_line_error(CliRunner().invoke(main, args), "KeyError: 'weights'")


def test_debug_flag_and_environment_show_the_traceback(tmp_path: Path, inputs: dict[str, Path]) -> None:
    args = ["extract", str(inputs["clip"]), "--gop", "0", "--rep", "iframe", "--out", f"{inputs['blocker']}/x.npy"]
    for prefix, env in ((["--debug"], {}), ([], {"PKDKIT_DEBUG": "1"})):
        result = CliRunner().invoke(main, [*prefix, *args], env=env)
        assert result.exit_code == 1
        assert isinstance(result.exception, NotADirectoryError)  # raised through, traceback and all
        assert "pkdkit: error:" not in result.output


def test_usage_errors_stay_clicks(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["extract", "--gop", "x"])
    assert result.exit_code == 2 and "Usage:" in result.output


def test_json_model_round_trip_still_loads(inputs: dict[str, Path]) -> None:
    model = wise.WiseModel.load(inputs["model"])
    assert model.names == json.loads(inputs["model"].read_text())["names"]


def test_resume_without_a_checkpoint_fails_in_one_line(tmp_path: Path, inputs: dict[str, Path]) -> None:
    out = tmp_path / "run"
    args = ["train", "backbone", "--modality", "mv", "--arch", "resnet10_tiny", "--data", str(inputs["synth"]),
            "--out", str(out), "--epochs", "1", "--batch-size", "2", "--workers", "0", "--device", "cpu", "--quiet"]
    one_line_error(CliRunner().invoke(main, [*args, "--resume"]), str(out / "checkpoint.pt"), "no checkpoint to resume")
    assert not out.exists()
    ics = ["train", "ics", "--method", "ce", "--backbone", str(inputs["synth"]), "--data", str(inputs["synth"]),
           "--out", str(out), "--resume"]
    one_line_error(CliRunner().invoke(main, ics), "no checkpoint to resume")


def test_show_defaults_to_a_position_that_exists(tmp_path: Path) -> None:
    """GOPs of 4, 4 and 1 frames: the default position is 1, or 0 in the one-frame GOP; a
    position past the GOP names the ones that exist."""
    clip = make_clip(tmp_path / "g.m4v", ClipSpec(64, 48, frames=9, gop=4))
    for gop in ("0", "2"):
        result = CliRunner().invoke(main, ["show", str(clip), "--gop", gop, "--out", str(tmp_path / f"{gop}.png")])
        assert result.exit_code == 0, result.output
        assert (tmp_path / f"{gop}.png").stat().st_size > 1000
    result = CliRunner().invoke(main, ["show", str(clip), "--gop", "2", "--pos", "1", "--out", str(tmp_path / "x.png")])
    one_line_error(result, "g.m4v", "valid values are 0..=0")


def test_probe_counts_gop_lengths_and_json_keeps_them_all(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "g.m4v", ClipSpec(64, 48, frames=9, gop=4))
    result = CliRunner().invoke(main, ["probe", str(clip)])
    assert result.exit_code == 0 and "3 (lengths 4 x 2, 1 x 1)" in result.output, result.output
    result = CliRunner().invoke(main, ["probe", "--json", str(clip)])
    assert json.loads(result.output)["gop_lengths"] == [4, 4, 1]


def test_errors_from_dataloader_workers_keep_their_last_line() -> None:
    from torch._utils import ExceptionWrapper

    from pkdkit.cli import describe_error
    from pkdkit.data.datasets import EvaluationVideoError

    try:
        raise EvaluationVideoError("/data/v.m4v: test video cannot be read (truncated)")
    except EvaluationVideoError:
        wrapped = ExceptionWrapper(where="in DataLoader worker process 0")
    with pytest.raises(EvaluationVideoError) as caught:
        wrapped.reraise()
    assert describe_error(caught.value) == "/data/v.m4v: test video cannot be read (truncated)"
