"""Backbone training: the CoViAR recipe, learning, run files, resume, NaN stops, DDP, config, CLI."""

from __future__ import annotations

import json
import os
import socket
import sys

import pytest
import torch
import torch.multiprocessing as mp
from click.testing import CliRunner
from tiny_training import SeparableClips, state_equal, tiny_config

from pkdkit.models import create_model, list_models, load_checkpoint
from pkdkit.train import (
    CETask,
    NonFiniteLossError,
    dump_toml,
    load_config,
    resolve,
    train_backbone,
    train_ics,
)
from pkdkit.train.checkpoint import save_atomic
from pkdkit.train.optim import backbone_param_groups, create_optimizer, create_scheduler

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def test_ce_training_learns_a_separable_set(tmp_path) -> None:
    train = SeparableClips(192, seed=1, noise=2.0)
    test = SeparableClips(96, seed=2, noise=2.0)
    summary = train_backbone(
        tmp_path / "run", modality="iframe", train_set=train, test_set=test, num_classes=4,
        config=tiny_config(backbone={"epochs": 4}), progress=False,
    )
    assert summary["test_acc_exit4"] > 0.95
    assert summary["test_samples"] == 96
    run = tmp_path / "run"
    for name in ("checkpoint.pt", "config.toml", "metrics.jsonl", "metrics.csv", "curves.png", "summary.json"):
        assert (run / name).is_file(), name
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [0, 1, 2, 3]
    assert all(0 <= r[f"test_acc_exit{k}"] <= 1 for r in records for k in range(1, 5))
    assert records[0]["lr"] == pytest.approx(0.003) and records[3]["lr"] == pytest.approx(0.0003)
    header = (run / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"epoch", "train_loss", "test_acc_exit1", "test_acc_exit4"} <= set(header)
    assert (run / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    saved = tomllib.loads((run / "config.toml").read_text())
    assert saved["backbone"]["epochs"] == 4 and saved["model"]["arch"]["iframe"] == "resnet10_tiny"
    assert load_config(run / "config.toml") == tiny_config(backbone={"epochs": 4})  # reusable as --config
    # the saved network reproduces the reported accuracy
    model = load_checkpoint(run)
    with torch.no_grad():
        pred = model(test.inputs["iframe"], exits=(4,))[0].argmax(1)
    assert (pred == test.labels).float().mean().item() == pytest.approx(summary["test_acc_exit4"])


class Killed(Exception):
    """Stands in for a SIGKILL in the middle of an epoch."""


def _kill_at(epoch: int, step: int):
    def hook(e: int, s: int) -> None:
        if (e, s) == (epoch, step):
            raise Killed

    return hook


def test_resume_after_kill_is_bit_identical(tmp_path) -> None:
    config = tiny_config(backbone={"epochs": 4, "lr_steps": [2]})
    kw = dict(modality="mv", test_set=SeparableClips(32, seed=2, modalities=("mv",)), num_classes=4,
              config=config, progress=False)
    train = SeparableClips(48, seed=1, modalities=("mv",), augment=True)
    train_backbone(tmp_path / "straight", train_set=train, **kw)
    with pytest.raises(Killed):  # dies during epoch 3, after the epoch-2 checkpoint
        train_backbone(tmp_path / "killed", train_set=train, step_hook=_kill_at(2, 1), **kw)
    assert torch.load(tmp_path / "killed" / "checkpoint.pt", weights_only=True)["epoch"] == 2
    with pytest.raises(ValueError, match="pass --resume"):
        train_backbone(tmp_path / "killed", train_set=train, **kw)
    train_backbone(tmp_path / "killed", train_set=train, resume=True, **kw)
    a = torch.load(tmp_path / "straight" / "checkpoint.pt", weights_only=True)
    b = torch.load(tmp_path / "killed" / "checkpoint.pt", weights_only=True)
    assert a["epoch"] == b["epoch"] == 4
    assert state_equal(a["model"], b["model"])
    for sa, sb in zip(a["optimizer"]["state"].values(), b["optimizer"]["state"].values()):
        assert state_equal(sa, sb)
    assert a["scheduler"] == b["scheduler"]

    def losses(run):
        lines = (tmp_path / run / "metrics.jsonl").read_text().splitlines()
        return [(r["epoch"], r["train_loss"], r["test_acc_exit4"]) for r in map(json.loads, lines)]

    assert losses("straight") == losses("killed")


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path) -> None:
    train = SeparableClips(32, seed=1)

    def poison(epoch: int, step: int) -> None:
        if epoch == 1:
            train.poisoned = True  # every batch fetched from now on is NaN

    with pytest.raises(NonFiniteLossError, match=r"loss became nan at epoch 2, step \d+.*checkpoint\.pt \(epoch 1\)"):
        train_backbone(tmp_path / "run", modality="iframe", train_set=train, test_set=None, num_classes=4,
                       config=tiny_config(), progress=False, step_hook=poison)
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert state["epoch"] == 1
    assert all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())
    assert load_checkpoint(tmp_path / "run").num_classes == 4


def test_coviar_lr_multipliers_and_steps() -> None:
    cfg = resolve(load_config(), "backbone", "mv")
    model = create_model("resnet10_tiny", modality="mv", num_classes=3)
    model.freeze_ics()
    optimizer = create_optimizer(backbone_param_groups(model, cfg), cfg)
    lr_of = {id(p): (g["lr"], g["weight_decay"]) for g in optimizer.param_groups for p in g["params"]}
    bb = model.backbone
    assert lr_of[id(bb.conv1.weight)] == (pytest.approx(0.001), 1e-4)
    assert lr_of[id(model.data_bn.weight)] == (pytest.approx(0.001), 1e-4)
    assert lr_of[id(bb.fc.weight)] == (pytest.approx(0.01), 1e-4)
    assert lr_of[id(bb.fc.bias)] == (pytest.approx(0.01), 0.0)
    assert lr_of[id(bb.layer2[0].conv1.weight)] == (pytest.approx(0.0001), 1e-4)
    assert not any(id(p) in lr_of for p in model.ics.parameters())
    assert optimizer.defaults["eps"] == 1e-3
    iframe = resolve(load_config(), "backbone", "iframe")
    assert (iframe["lr"], iframe["batch_size"], iframe["lr_mult_stem"]) == (0.0003, 40, 0.01)
    scheduler = create_scheduler(optimizer, {**cfg, "lr_steps": [2, 3]})
    lrs = []
    for _ in range(4):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert lrs == pytest.approx([lrs[0], lrs[0], lrs[0] * 0.1, lrs[0] * 0.01])


def test_config_merging_and_errors(tmp_path) -> None:
    path = tmp_path / "r.toml"
    path.write_text('[backbone]\nlr = 0.5\nepochs = 7\n[backbone.mv]\nlr = 0.25\n[ics]\ntemperature = 2.0\n')
    config = load_config(path, {"backbone": {"residual": {"batch_size": 8}}})
    # a stage-level key in a file beats the defaults' per-modality value; the file's own table wins
    assert resolve(config, "backbone", "iframe")["lr"] == 0.5
    assert resolve(config, "backbone", "mv")["lr"] == 0.25
    assert resolve(config, "backbone", "residual")["batch_size"] == 8
    assert resolve(config, "backbone", "residual")["epochs"] == 7
    assert resolve(config, "ics", "mv")["temperature"] == 2.0
    assert resolve(config, "ics", "mv")["lr"] == 0.01  # untouched default
    assert tomllib.loads(dump_toml(config)) == config
    path.write_text("[ics]\ntemprature = 2\n")
    with pytest.raises(ValueError, match="unknown key 'ics.temprature'"):
        load_config(path)
    path.write_text("[ics\n")
    with pytest.raises(ValueError, match="invalid TOML"):
        load_config(path)
    with pytest.raises(FileNotFoundError):
        load_config(tmp_path / "none.toml")
    with pytest.raises(ValueError, match="unknown modality"):
        resolve(config, "backbone", "flow")


@pytest.mark.parametrize("name", ["ucf101", "hmdb51", "synth"])
def test_shipped_configs_resolve(name: str) -> None:
    from pathlib import Path

    config = load_config(Path(__file__).parents[1] / "configs" / f"{name}.toml")
    for modality in ("iframe", "mv", "residual"):
        for stage in ("backbone", "ics"):
            cfg = resolve(config, stage, modality)
            assert cfg["lr"] > 0 and cfg["batch_size"] > 0 and cfg["epochs"] > max(cfg["lr_steps"])
            assert cfg["model"]["arch"] in list_models()


def test_save_atomic_keeps_old_file_on_failure(tmp_path) -> None:
    path = tmp_path / "checkpoint.pt"
    save_atomic({"epoch": 1}, path)

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        save_atomic({"epoch": 2, "x": Unpicklable()}, path)
    assert torch.load(path, weights_only=True) == {"epoch": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]


# ------------------------------------------------------------------------------------------ DDP


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, out: str) -> None:
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        torch.manual_seed(0)
        model = create_model("resnet10_tiny", modality="mv", num_classes=4)
        model.freeze_ics()
        model.eval()  # BN on running statistics: per-process batch statistics would differ by design
        data = SeparableClips(8, seed=3, modalities=("mv",))
        half = slice(rank * 4, rank * 4 + 4)
        task = CETask(DistributedDataParallel(model), "mv")
        task(( data.inputs["mv"][half], data.labels[half]))["loss"].backward()
        torch.save({n: p.grad for n, p in model.named_parameters() if p.grad is not None}, f"{out}/grads{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_ddp_two_gloo_processes_match_one_process(tmp_path) -> None:
    # fork, not spawn: a spawned child re-imports torch, which costs many seconds on a loaded machine
    mp.start_processes(_ddp_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, start_method="fork")
    torch.manual_seed(0)
    model = create_model("resnet10_tiny", modality="mv", num_classes=4)
    model.freeze_ics()
    model.eval()
    data = SeparableClips(8, seed=3, modalities=("mv",))
    CETask(model, "mv")((data.inputs["mv"], data.labels))["loss"].backward()
    expected = {n: p.grad for n, p in model.named_parameters() if p.grad is not None}
    for rank in range(2):
        grads = torch.load(tmp_path / f"grads{rank}.pt", weights_only=True)
        assert grads.keys() == expected.keys()
        for name, g in grads.items():
            torch.testing.assert_close(g, expected[name], rtol=1e-4, atol=1e-6, msg=name)


def _fit_worker(rank: int, world: int, port: int, out: str) -> None:
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    import torch.distributed as dist

    try:
        train = SeparableClips(32, seed=1, modalities=("residual",))
        test = SeparableClips(15, seed=2, modalities=("residual",))
        model_out = train_backbone(f"{out}/run", modality="residual", train_set=train, test_set=test,
                                   num_classes=4, config=tiny_config(backbone={"epochs": 2}), progress=False)
        assert model_out["test_samples"] == 15  # the shards cover the test set exactly once
        torch.save(dict(__import__("pkdkit.models", fromlist=["x"]).load_checkpoint(f"{out}/run").state_dict()),
                   f"{out}/final{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_train_backbone_under_ddp_keeps_replicas_in_sync(tmp_path) -> None:
    mp.start_processes(_fit_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, start_method="fork")
    a = torch.load(tmp_path / "final0.pt", weights_only=True)
    b = torch.load(tmp_path / "final1.pt", weights_only=True)
    assert state_equal(a, b)
    assert len((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()) == 2


# ------------------------------------------------------------------------------------------ CLI


def test_cli_train_backbone_and_ics(tmp_path, monkeypatch) -> None:
    from types import SimpleNamespace

    import pkdkit.train.data as train_data
    from pkdkit.cli import main

    def fake_open(data, split, *, modality, fused, config, train_size=0):
        mods = ("iframe", "mv", "residual") if fused else (modality,)
        return SimpleNamespace(
            train=SeparableClips(32, seed=1, modalities=mods, fused=fused),
            test=SeparableClips(16, seed=2, modalities=mods, fused=fused),
            num_classes=4,
        )

    monkeypatch.setattr(train_data, "open_datasets", fake_open)
    config = tmp_path / "tiny.toml"
    config.write_text(dump_toml(tiny_config()))
    runner = CliRunner()
    common = ["--data", str(tmp_path), "--config", str(config), "--epochs", "1", "--quiet"]
    for modality in ("mv", "residual"):
        result = runner.invoke(main, ["train", "backbone", "--modality", modality, "--out", str(tmp_path / modality),
                                      *common])
        assert result.exit_code == 0, result.output
        assert "exit 4" in result.output
    result = runner.invoke(main, ["train", "ics", "--method", "pkd", "--backbone", str(tmp_path / "mv"),
                                  "--teachers", str(tmp_path / "residual"), "--out", str(tmp_path / "ics"),
                                  "--temperature", "2", "--boundaries", "0,1", *common[:-3], "--epochs", "2",
                                  "--quiet"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in (tmp_path / "ics" / "metrics.jsonl").read_text().splitlines()]
    assert [r["teacher"] for r in records] == ["residual", "self"]
    result = runner.invoke(main, ["train", "ics", "--backbone", str(tmp_path / "mv"), "--modality", "iframe",
                                  "--out", str(tmp_path / "x"), *common])
    assert result.exit_code == 2 and "mv network" in result.output
    result = runner.invoke(main, ["train", "backbone", "--modality", "mv", "--out", str(tmp_path / "mv"), *common])
    assert result.exit_code == 1 and "pass --resume" in result.output
    assert runner.invoke(main, ["train", "--help"]).exit_code == 0


def test_train_ics_ce_baseline_trains_only_ics(tmp_path) -> None:
    train = SeparableClips(64, seed=1)
    test = SeparableClips(32, seed=2)
    config = tiny_config(backbone={"epochs": 3}, ics={"epochs": 3, "method": "ce"})
    train_backbone(tmp_path / "bb", modality="iframe", train_set=train, test_set=test, num_classes=4,
                   config=config, progress=False)
    before = load_checkpoint(tmp_path / "bb")
    summary = train_ics(tmp_path / "ce", method="ce", backbone=tmp_path / "bb", train_set=train, test_set=test,
                        config=config, progress=False)
    after = load_checkpoint(tmp_path / "ce")
    assert state_equal(before.backbone.state_dict(), after.backbone.state_dict())
    assert not state_equal(before.ics.state_dict(), after.ics.state_dict())
    assert summary["test_acc_exit3"] > 0.5  # 4 classes: chance is 0.25


def test_to_device_turns_a_uint8_fused_batch_into_network_input() -> None:
    """The training loop's batch step normalises FusedDataset's uint8 pictures where the batch
    lands, to exactly the float transforms' input (mirrored MVs negated)."""
    import numpy as np

    from pkdkit.data import transforms as T
    from pkdkit.train.loop import to_device

    raw = torch.from_numpy(np.random.default_rng(1).integers(-30, 31, (8, 2, 24, 30, 2)).astype(np.int32))
    pictures, flip = T.train_pictures(raw, "mv", [np.random.default_rng(i) for i in range(8)], 16)
    assert flip.any() and not flip.all()
    batch = {"mv": pictures, "mv_flipped": torch.from_numpy(flip), "label": torch.arange(8)}
    got = to_device(batch, torch.device("cpu"))
    want = T.train_transform(raw, "mv", [np.random.default_rng(i) for i in range(8)], 16)
    assert set(got) == {"mv", "label"}
    torch.testing.assert_close(got["mv"], want, rtol=0, atol=0)
    torch.testing.assert_close(got["label"], torch.arange(8))
