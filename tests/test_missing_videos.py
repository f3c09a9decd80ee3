"""Listed videos that do not exist are found before the first epoch (an error naming them, or
dropped with a warning and recorded in summary.json with --drop-missing), and evaluation never
replaces a test video it cannot read by another one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from pkdkit.cli import main
from pkdkit.data import CoviarDataset, read_datalist
from pkdkit.data.datasets import EvaluationVideoError
from pkdkit.data.synth import synth_dataset
from pkdkit.train import load_config
from pkdkit.train.data import open_datasets


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("missing") / "synth"
    synth_dataset(root, 2, 4, frames=8, size=(32, 32), gop=4, seed=7, workers=1, progress=False)
    return root


@pytest.fixture()
def broken(synth: Path, tmp_path: Path) -> tuple[Path, str]:
    """A copy of the set with one test video deleted; returns the root and its path."""
    root = tmp_path / "synth"
    shutil.copytree(synth, root)
    first = (root / "datalists" / "synth_split1_test.txt").read_text().split()[0]
    (root / first).unlink()
    return root, first


def _train(root: Path, out: Path, *extra: str):
    return CliRunner().invoke(main, [
        "train", "backbone", "--modality", "mv", "--arch", "resnet10_tiny", "--data", str(root), "--out", str(out),
        "--epochs", "1", "--batch-size", "2", "--workers", "0", "--device", "cpu", "--quiet", *extra,
    ])


def test_missing_test_video_fails_before_the_first_epoch(broken: tuple[Path, str], tmp_path: Path) -> None:
    root, missing = broken
    result = _train(root, tmp_path / "run")
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pkdkit: error: ")
    assert "synth_split1_test.txt: 1 of" in lines[0] and missing in lines[0] and "--drop-missing" in lines[0]
    assert not (tmp_path / "run").exists()


def test_drop_missing_warns_and_records_them(broken: tuple[Path, str], tmp_path: Path) -> None:
    root, missing = broken
    result = _train(root, tmp_path / "run", "--drop-missing")
    assert result.exit_code == 0, result.output
    assert "1 listed video(s) did not exist and were left out" in result.output
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["dropped_missing_videos"] == {"train": [], "test": [str(root / missing)]}
    sets = open_datasets(root, 1, modality="mv", fused=False, config=load_config(None, {"data": {"missing": "drop"}}))
    listed = read_datalist(root, root / "datalists" / "synth_split1_test.txt")
    assert [e.path for e in sets.test.entries] == [e.path for e in listed if e.path != str(root / missing)]


def test_evaluation_never_replaces_an_unreadable_test_video(synth: Path, tmp_path: Path) -> None:
    root = tmp_path / "synth"
    shutil.copytree(synth, root)
    listed = read_datalist(root, root / "datalists" / "synth_split1_test.txt")
    damaged = listed[1].path
    Path(damaged).write_bytes(b"\x00\x00\x01\xb0 not a video any more" * 20)
    test = CoviarDataset(root, listed, "mv", 2, is_train=False, crop_size=32, seed=0)
    loader = torch.utils.data.DataLoader(test, batch_size=2)
    with pytest.raises(EvaluationVideoError, match=rf"{damaged}: test video cannot be read"):
        for _ in loader:
            pass
    # Training still replaces it (and says so), so an epoch never stops on a bad file.
    train = CoviarDataset(root, listed, "mv", 2, is_train=True, crop_size=32, seed=0)
    assert len([train[i] for i in range(len(train))]) == len(listed)
    assert list(train.damaged) == [damaged]
