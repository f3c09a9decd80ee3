"""Values with one home: the modality vocabulary, device resolution, the shared ``--device`` and
``--runs`` options, the run-folder reader (which checks what it reads), the datalist lookup."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from pkdkit import vocabulary, wise
from pkdkit.cli import main
from pkdkit.data.datalists import find_datalist
from pkdkit.devices import resolve_device
from pkdkit.models import run_data_config
from pkdkit.train.config import MODALITIES as CONFIG_MODALITIES


def test_modalities_and_exit_names_come_from_the_vocabulary() -> None:
    assert CONFIG_MODALITIES is vocabulary.MODALITIES == ("iframe", "mv", "residual")
    assert wise.CASCADE == ("R1", "R2", "R3", "R4", "MV1", "MV2", "MV3", "MV4", "I1", "I2", "I3", "I4")
    assert {m for _, m in vocabulary.CASCADE_MODALITIES} == set(vocabulary.MODALITIES)
    assert all(vocabulary.PREFIXES[m] == p for p, m in vocabulary.CASCADE_MODALITIES)


def test_device_resolution() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device(None) == resolve_device("auto")
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            resolve_device("cuda")


@pytest.mark.parametrize("command", ["predict", "logits"])
def test_runs_option_wants_three_run_directories(tmp_path: Path, command: str) -> None:
    video = tmp_path / "v.m4v"
    video.write_bytes(b"")
    if command == "predict":
        args = [command, str(video), "--wise", str(video)]
    else:
        args = [command, "--data", str(tmp_path), "--out", str(tmp_path / "x.npz")]
    result = CliRunner().invoke(main, [*args, "--runs", "a,b"])
    assert result.exit_code == 2 and "I_RUN,MV_RUN,R_RUN" in result.output, result.output


def test_the_run_reader_checks_the_data_table(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    assert run_data_config(run) == {}
    (run / "config.toml").write_text("[data]\nnum_segments = 5\ninput_size = 112\n")
    assert run_data_config(run / "checkpoint.pt") == {"num_segments": 5, "input_size": 112}
    (run / "config.toml").write_text("[data]\nnum_segments = 0\n")
    with pytest.raises(ValueError, match="data.num_segments must be a positive integer, got 0"):
        run_data_config(run)
    (run / "config.toml").write_text("[data\n")
    with pytest.raises(ValueError, match="not a readable run config"):
        run_data_config(run)


def test_one_datalist_lookup(tmp_path: Path) -> None:
    lists = tmp_path / "datalists"
    lists.mkdir()
    (lists / "ucf101_split1_train.txt").write_text("")
    assert find_datalist(tmp_path, 1, "train").name == "ucf101_split1_train.txt"
    with pytest.raises(FileNotFoundError, match=r"no such datalist \(ucf101_split1_train.txt\)"):
        find_datalist(tmp_path, 2, "train")
    (lists / "hmdb51_split1_train.txt").write_text("")
    with pytest.raises(ValueError, match="several datalists match split 1"):
        find_datalist(tmp_path, 1, "train")
    assert find_datalist(tmp_path, 1, "train", "hmdb51").name == "hmdb51_split1_train.txt"


def test_model_modules_import_without_a_cycle() -> None:
    """_registry builds models (and loads pretrained weights); _checkpoint reads them back using
    _registry: neither imports the other back."""
    folder = Path(__file__).parents[1] / "python" / "pkdkit" / "models"

    def imports(name: str) -> set[str]:
        tree = ast.parse((folder / f"{name}.py").read_text())
        return {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}

    assert "_checkpoint" not in imports("_registry") and "_registry" in imports("_checkpoint")
    assert "_registry" not in imports("_pretrained") and "_checkpoint" not in imports("_pretrained")
