"""Per-exit costs, lazy exits, anytime WISE prediction and the `logits`/`predict` commands."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from pkdkit import evaluate, inference, wise
from pkdkit.cli import main
from pkdkit.models import create_model

CLASSES, SEGMENTS, SIZE = 3, 2, 32


def tiny(modality: str, seed: int = 0):
    torch.manual_seed(seed)
    return create_model("resnet10_tiny", modality=modality, num_classes=CLASSES).eval()


def make_run(path, modality, seed=0):
    """A run directory as `pkdkit train` leaves it: checkpoint + config.toml."""
    model = tiny(modality, seed)
    path.mkdir(parents=True)
    torch.save({"model_config": model.config, "model": model.state_dict()}, path / "checkpoint.pt")
    (path / "config.toml").write_text(f"[data]\nnum_segments = {SEGMENTS}\ninput_size = {SIZE}\n")
    return path


class CallCounter:
    """Counts forward calls of named submodules."""

    def __init__(self, model, names):
        self.counts = dict.fromkeys(names, 0)
        for name in names:
            model.get_submodule(name).register_forward_hook(lambda *_, n=name: self._hit(n))

    def _hit(self, name):
        self.counts[name] += 1


def test_exit_costs_add_up_to_the_full_forward():
    model = tiny("mv")
    inc = inference.exit_costs(model, SEGMENTS, SIZE)
    x = torch.zeros(1, SEGMENTS, 2, SIZE, SIZE)
    assert inc.shape == (4,) and np.all(inc > 0)
    assert inc.sum() == evaluate.count_macs(lambda: model(x))
    # Exit 1 = stem + layer1 + IC1: cheaper than all four together, costlier than nothing.
    assert inc[0] == evaluate.count_macs(lambda: model(x, exits=[1]))
    # Twice the segments, twice the cost.
    np.testing.assert_allclose(inference.exit_costs(model, 2 * SEGMENTS, SIZE), 2 * inc)


def test_iter_exits_runs_a_stage_only_when_asked():
    model = tiny("residual")
    calls = CallCounter(model, ["backbone.layer1", "backbone.layer2", "backbone.layer4", "ics.0", "ics.1"])
    x = torch.randn(2, SEGMENTS, 3, SIZE, SIZE)
    exits = inference.iter_exits(model, x)
    first = next(exits)
    assert calls.counts == {"backbone.layer1": 1, "backbone.layer2": 0, "backbone.layer4": 0, "ics.0": 1, "ics.1": 0}
    rest = list(exits)
    full = model(x)
    torch.testing.assert_close(torch.stack([first, *rest]), torch.stack(full))


def _runs():
    return {m: inference.RunInfo(tiny(m, i), m, SEGMENTS, SIZE) for i, m in enumerate(("residual", "mv", "iframe"))}


def _loaders(log):
    def make(m, c):
        def load():
            log.append(m)
            return torch.randn(1, SEGMENTS, c, SIZE, SIZE, generator=torch.Generator().manual_seed(3))
        return load
    return {"residual": make("residual", 3), "mv": make("mv", 2), "iframe": make("iframe", 3)}


@pytest.mark.parametrize(("threshold", "stage"), [(0.0, 1), (1.0, 12)])
def test_predict_computes_no_exit_beyond_the_one_it_stops_at(threshold, stage):
    runs = _runs()
    costs = np.arange(1, 13, dtype=float)
    model = wise.WiseModel(np.tril(np.ones((12, 12))), costs, list(wise.CASCADE), variant="no_division")
    counters = {m: CallCounter(r.model, ["backbone.layer1", "backbone.layer2", "backbone.layer4", "ics.0"])
                for m, r in runs.items()}
    loaded: list[str] = []
    p = inference.predict_video("unused.m4v", runs, model, threshold, loaders=_loaders(loaded))
    assert p.stage == stage and p.exit_name == wise.CASCADE[stage - 1]
    assert p.cost == pytest.approx(costs[:stage].sum())
    if stage == 1:
        # Only the residual network's stem, layer1 and IC1 ran; the other networks' inputs were never read.
        assert loaded == ["residual"]
        assert counters["residual"].counts == {"backbone.layer1": 1, "backbone.layer2": 0, "backbone.layer4": 0,
                                               "ics.0": 1}
        assert all(c == 0 for m in ("mv", "iframe") for c in counters[m].counts.values())
    else:
        assert loaded == ["residual", "mv", "iframe"]
        assert all(c == 1 for cnt in counters.values() for c in cnt.counts.values())


def test_predict_stops_where_the_batched_cascade_does():
    runs = _runs()
    loaded: list[str] = []
    loaders = _loaders(loaded)
    xs = {m: loaders[m]() for m in runs}
    with torch.no_grad():
        z = np.stack([e.numpy()[0] for m in ("residual", "mv", "iframe") for e in runs[m].model(xs[m])])[:, None]
    model = wise.WiseModel(np.eye(12), np.ones(12), list(wise.CASCADE), variant="no_lateral")
    conf = torch.softmax(torch.as_tensor(z[:, 0]), -1).max(-1).values.numpy()
    threshold = float(np.sort(conf)[6])  # some exit above it, not the first ones necessarily
    batch = model.evaluate(z, np.zeros(1, int), threshold)
    p = inference.predict_video("unused", runs, model, threshold, loaders=_loaders([]))
    assert p.stage - 1 == batch["exit_stage"][0]
    assert p.class_index == batch["predictions"][0]


@pytest.fixture(scope="module")
def synth_set(tmp_path_factory):
    from pkdkit.data import synth_dataset

    root = tmp_path_factory.mktemp("synth")
    synth_dataset(root, 3, 3, frames=14, size=(64, 48), seed=1, workers=1, progress=False)
    return root


def test_logits_predict_and_wise_commands_end_to_end(tmp_path, synth_set):
    runs = {m: make_run(tmp_path / m, m, i) for i, m in enumerate(("iframe", "mv", "residual"))}
    arg = ",".join(str(runs[m]) for m in ("iframe", "mv", "residual"))
    cli = CliRunner()
    for which in ("train", "test"):
        r = cli.invoke(main, ["logits", "--runs", arg, "--data", str(synth_set), "--set", which, "--device", "cpu",
                              "--out", str(tmp_path / f"{which}.npz")])
        assert r.exit_code == 0, r.output
        assert "MV1=" in r.output
    data = evaluate.load_logits(tmp_path / "test.npz")
    assert data.logits.shape[:1] == (12,) and data.logits.shape[2] == CLASSES
    assert data.names == list(wise.CASCADE)
    # The logits are the networks' own: recompute R4 on the same dataset items.
    r_net = inference.read_run(runs["residual"]).model
    ds = inference._dataset(synth_set, inference.find_test_list(synth_set), inference.read_run(runs["residual"]),
                            SEGMENTS, 1)
    x = torch.stack([ds[i][0] for i in range(len(ds))])
    with torch.no_grad():
        np.testing.assert_allclose(data.logits[3], r_net(x)[3].numpy(), rtol=1e-4, atol=1e-5)
    assert data.costs[0] == inference.exit_costs(r_net, SEGMENTS, SIZE)[0]

    r = cli.invoke(main, ["wise", "fit", "--train-logits", str(tmp_path / "train.npz"), "--out",
                          str(tmp_path / "w.json"), "--iterations", "20"])
    assert r.exit_code == 0, r.output
    video = str(sorted(synth_set.rglob("*.m4v"))[0])
    r = cli.invoke(main, ["predict", video, "--runs", arg, "--wise", str(tmp_path / "w.json"), "--threshold", "0",
                          "--classes", str(synth_set / "classInd.txt"), "--json", "--device", "cpu"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["exit"] == "R1" and out["exits_computed"] == 1
    assert out["gmacs"] == pytest.approx(data.costs[0] / 1e9)


def test_logits_command_rejects_bad_arguments(tmp_path, synth_set):
    cli = CliRunner()
    r = cli.invoke(main, ["logits", "--runs", "a,b", "--data", str(synth_set), "--out", str(tmp_path / "x.npz")])
    assert r.exit_code == 2 and "three comma-separated" in r.output
    r = cli.invoke(main, ["logits", "--runs", "a,b,c", "--data", str(synth_set), "--out", str(tmp_path / "x.npz")])
    assert r.exit_code == 1 and "no such checkpoint" in r.output and "Traceback" not in r.output
