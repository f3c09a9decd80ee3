"""Progressive knowledge distillation: losses, teacher schedules, frozen backbone, teachers' mode."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from tiny_training import SeparableClips, state_equal, tiny_config

from pkdkit.models import MultiExitNet, load_checkpoint
from pkdkit.train import (
    PKDTask,
    create_distill_loss,
    create_schedule,
    kd_kl_div,
    soft_target_cross_entropy,
    train_backbone,
    train_ics,
)

STUDENT = np.array([[2.0, -1.0, 0.5], [0.0, 3.0, -2.0]])
TEACHER = np.array([[1.0, 0.0, -1.0], [-0.5, 2.5, 1.0]])


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("T", [1.0, 2.0])
def test_soft_target_loss_matches_hand_computation(T: float) -> None:
    p_t, p_s = _softmax(TEACHER / T), _softmax(STUDENT / T)
    expected = float(np.mean(-(p_t * np.log(p_s)).sum(axis=1)))
    got = soft_target_cross_entropy(torch.tensor(STUDENT), torch.tensor(TEACHER), T)
    assert got.item() == pytest.approx(expected, rel=1e-6)
    # Hinton's variant: T^2 * KL(p_t || p_s), mean over the batch
    expected_kl = T**2 * float(np.mean((p_t * (np.log(p_t) - np.log(p_s))).sum(axis=1)))
    assert kd_kl_div(torch.tensor(STUDENT), torch.tensor(TEACHER), T).item() == pytest.approx(expected_kl, rel=1e-6)
    assert create_distill_loss("kl", T)(torch.tensor(STUDENT), torch.tensor(TEACHER)).item() == pytest.approx(
        expected_kl, rel=1e-6
    )


def test_kl_gradient_is_t_squared_times_soft_ce_gradient() -> None:
    T = 2.0
    teacher = torch.tensor(TEACHER)
    s1 = torch.tensor(STUDENT, requires_grad=True)
    s2 = torch.tensor(STUDENT, requires_grad=True)
    soft_target_cross_entropy(s1, teacher, T).backward()
    kd_kl_div(s2, teacher, T).backward()
    torch.testing.assert_close(s2.grad, T**2 * s1.grad)
    t = teacher.clone().requires_grad_(True)
    soft_target_cross_entropy(s1, t, T).backward()
    assert t.grad is None  # no gradient reaches the teacher


def test_loss_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="temperature must be > 0"):
        soft_target_cross_entropy(torch.zeros(2, 3), torch.zeros(2, 3), 0.0)
    with pytest.raises(ValueError, match=r"\(N, classes\)"):
        kd_kl_div(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="unknown distillation loss"):
        create_distill_loss("mse")


def test_schedules() -> None:
    progressive = create_schedule("progressive")
    assert [progressive.teacher_at(e) for e in (0, 49, 50, 99, 100, 299)] == [
        "mv", "mv", "residual", "residual", "self", "self"
    ]
    anti = create_schedule("anti", (2, 5))
    assert [anti.teacher_at(e) for e in range(7)] == ["self"] * 2 + ["residual"] * 3 + ["mv"] * 2
    fixed = create_schedule("fixed", fixed_teacher="iframe")
    assert {fixed.teacher_at(e) for e in range(300)} == {"iframe"}
    assert progressive.needed(50) == ["mv"] and progressive.needed(101) == ["mv", "residual", "self"]
    assert create_schedule("progressive", (0, 3)).needed(5) == ["residual", "self"]
    with pytest.raises(ValueError, match="unknown teacher schedule"):
        create_schedule("random")
    with pytest.raises(ValueError, match="unknown teacher 'flow'"):
        create_schedule("fixed", fixed_teacher="flow")
    with pytest.raises(ValueError, match="non-decreasing"):
        create_schedule("progressive", (5, 2))


@pytest.fixture(scope="module")
def backbones(tmp_path_factory) -> dict:
    """Three briefly trained tiny backbones on the same (fused) clips."""
    root = tmp_path_factory.mktemp("backbones")
    config = tiny_config(backbone={"epochs": 2})
    runs = {}
    for modality in ("iframe", "mv", "residual"):
        train = SeparableClips(32, seed=1, modalities=(modality,))
        train_backbone(root / modality, modality=modality, train_set=train, test_set=None, num_classes=4,
                       config=config, progress=False)
        runs[modality] = root / modality
    return runs


def _fused(n: int, seed: int) -> SeparableClips:
    return SeparableClips(n, seed=seed, modalities=("iframe", "mv", "residual"), fused=True)


class TeacherSpy:
    """Records, per epoch, which networks ran their final fc and in which mode."""

    def __init__(self) -> None:
        self.epoch = -1
        self.calls: dict[int, list[tuple[str, bool, bool]]] = {}

    def hook(self, epoch: int, step: int) -> None:
        self.epoch = epoch

    def watch(self, name: str, net: MultiExitNet) -> None:
        def record(module, inputs, output) -> None:
            self.calls.setdefault(self.epoch, []).append((name, module.training, torch.is_grad_enabled()))

        net.backbone.fc.register_forward_hook(record)


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("progressive", ["mv", "residual", "residual", "self"]),
        ("anti", ["self", "residual", "residual", "mv"]),
        ("fixed", ["iframe"] * 4),
    ],
)
def test_teacher_follows_schedule(backbones, tmp_path, schedule: str, expected: list[str]) -> None:
    config = tiny_config(ics={"epochs": 4, "schedule": schedule, "boundaries": [1, 3], "fixed_teacher": "iframe"})
    student = load_checkpoint(backbones["residual"])
    teachers = {m: load_checkpoint(backbones[m]) for m in ("iframe", "mv")}
    spy = TeacherSpy()
    spy.watch("student", student)
    for name, net in teachers.items():
        spy.watch(name, net)
    train_ics(tmp_path / "run", method="pkd", backbone=student, teachers=teachers, train_set=_fused(32, 3),
              test_set=None, config=config, progress=False, step_hook=spy.hook)
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["teacher"] for r in records] == expected
    for epoch, teacher in enumerate(expected):
        ran = {name for name, _, _ in spy.calls[epoch]}
        if teacher in ("self", "residual"):  # the student's own final exit (frozen BN: equals the original)
            assert ran == {"student"}
        else:
            assert ran == {teacher}
            # teachers run in eval mode, without building a graph
            assert all(not training and not grad for name, training, grad in spy.calls[epoch] if name == teacher)


def test_missing_teacher_is_named(backbones, tmp_path) -> None:
    with pytest.raises(ValueError, match="needs a 'mv' teacher"):
        train_ics(tmp_path / "run", method="pkd", backbone=backbones["iframe"], teachers={}, train_set=_fused(8, 3),
                  test_set=None, config=tiny_config(), progress=False)


@pytest.mark.parametrize("freeze_bn", [True, False])
def test_pkd_leaves_backbone_frozen(backbones, tmp_path, freeze_bn: bool) -> None:
    config = tiny_config(ics={"epochs": 3, "freeze_bn_stats": freeze_bn})
    before = load_checkpoint(backbones["iframe"])
    train_ics(tmp_path / "run", method="pkd", backbone=backbones["iframe"],
              teachers=[backbones["mv"], backbones["residual"]], train_set=_fused(32, 3), test_set=_fused(16, 4),
              config=config, progress=False)
    after = load_checkpoint(tmp_path / "run")
    params_before = dict(before.backbone.named_parameters())
    for name, p in after.backbone.named_parameters():
        assert torch.equal(p, params_before[name]), name
    bn_stats = [n for n in before.backbone.state_dict() if "running_" in n]
    same_stats = all(torch.equal(before.backbone.state_dict()[n], after.backbone.state_dict()[n]) for n in bn_stats)
    assert same_stats == freeze_bn  # the authors' code (freeze_bn=False) lets the statistics drift
    assert not state_equal(before.ics.state_dict(), after.ics.state_dict())


def test_pkd_task_loss_is_sum_of_soft_targets(backbones) -> None:
    student = load_checkpoint(backbones["mv"])
    student.freeze_backbone()
    teacher = load_checkpoint(backbones["iframe"])
    task = PKDTask(student, "mv", {"iframe": teacher}, create_schedule("fixed", fixed_teacher="iframe"),
                   create_distill_loss("soft_ce", 2.0))
    task.set_epoch(0)
    task.eval()  # IC BN on running statistics, so an independent forward gives the same logits
    data = _fused(6, 5)
    batch = {**{m: data.inputs[m] for m in ("iframe", "mv", "residual")}, "label": data.labels}
    out = task(batch)
    with torch.no_grad():
        target = load_checkpoint(backbones["iframe"])(batch["iframe"])[3]
        ics = load_checkpoint(backbones["mv"])(batch["mv"])[:3]
    p_t = torch.softmax(target / 2.0, dim=1)
    expected = sum(-(p_t * torch.log_softmax(z / 2.0, dim=1)).sum(1).mean() for z in ics)
    torch.testing.assert_close(out["loss"], expected)
    assert out["teacher"] == "iframe" and len(out["kd_loss"]) == 3


def test_pkd_resume_across_teacher_switch_is_bit_identical(backbones, tmp_path) -> None:
    config = tiny_config(ics={"epochs": 3, "boundaries": [1, 2]})
    train = SeparableClips(24, seed=3, modalities=("iframe", "mv", "residual"), fused=True, augment=True)
    kw = dict(method="pkd", backbone=backbones["iframe"], teachers=[backbones["mv"], backbones["residual"]],
              train_set=train, test_set=None, config=config, progress=False)
    train_ics(tmp_path / "straight", **kw)

    class Killed(Exception):
        pass

    def kill(epoch: int, step: int) -> None:
        if (epoch, step) == (1, 1):
            raise Killed

    with pytest.raises(Killed):
        train_ics(tmp_path / "killed", step_hook=kill, **kw)
    train_ics(tmp_path / "killed", resume=True, **kw)
    a = torch.load(tmp_path / "straight" / "checkpoint.pt", weights_only=True)
    b = torch.load(tmp_path / "killed" / "checkpoint.pt", weights_only=True)
    assert state_equal(a["model"], b["model"])


def test_drifting_bn_distils_from_the_students_own_train_mode_final_exit(backbones) -> None:
    # The authors' code after epoch 100: the target is the student's own output of the same
    # train-mode forward (BN on batch statistics), not an eval-mode frozen copy.
    student = load_checkpoint(backbones["mv"])
    student.freeze_backbone(bn_stats=False)
    task = PKDTask(student, "mv", {}, create_schedule("fixed", fixed_teacher="self"), create_distill_loss("soft_ce"))
    task.set_epoch(0)
    task.train()
    data = _fused(8, 6)
    x = data.inputs["mv"] * 3 + 1  # shifted statistics: batch and running statistics differ
    twin = load_checkpoint(backbones["mv"])
    twin.freeze_backbone(bn_stats=False)
    twin.train()
    with torch.no_grad():
        *ics, final = twin(x)  # the same train-mode forward, on a copy with the same weights
        eval_final = load_checkpoint(backbones["mv"]).eval()(x)[3]
    out = task({"mv": x, "label": data.labels})
    expected = sum(soft_target_cross_entropy(z, final) for z in ics)
    torch.testing.assert_close(out["loss"], expected)
    assert not torch.allclose(final, eval_final, atol=1e-3)  # so an eval-mode copy would differ
    original = load_checkpoint(backbones["mv"])
    assert not torch.equal(student.backbone.bn1.running_mean, original.backbone.bn1.running_mean)


def test_drifting_bn_run_builds_no_frozen_self_teacher(backbones, tmp_path) -> None:
    config = tiny_config(ics={"epochs": 2, "schedule": "fixed", "fixed_teacher": "self", "freeze_bn_stats": False})
    student = load_checkpoint(backbones["residual"])
    spy = TeacherSpy()
    spy.watch("student", student)
    train_ics(tmp_path / "run", method="pkd", backbone=student, teachers={}, train_set=_fused(16, 3),
              test_set=None, config=config, progress=False, step_hook=spy.hook)
    for epoch in (0, 1):  # only the student's fc ran, in train mode
        assert {(name, training) for name, training, _ in spy.calls[epoch]} == {("student", True)}


@pytest.mark.parametrize(("method", "train_ic_bias", "biases_move"), [
    ("pkd", False, False),  # the authors' PKD: biases stay at init
    ("pkd", True, True),
    ("ce", False, True),  # the CE baseline always trains them, as the authors' does
    ("ce", True, True),
])
def test_train_ic_bias_is_a_pkd_setting(backbones, tmp_path, method, train_ic_bias, biases_move) -> None:
    config = tiny_config(ics={"epochs": 1, "train_ic_bias": train_ic_bias})
    torch.manual_seed(0)
    train_ics(tmp_path / "run", method=method, backbone=backbones["iframe"],
              teachers=[backbones["mv"], backbones["residual"]], train_set=_fused(16, 3), test_set=None,
              config=config, progress=False)
    after = load_checkpoint(tmp_path / "run")
    from pkdkit.models import create_model

    torch.manual_seed(int(config["run"]["seed"]))  # the fresh heads train_ics starts from
    fresh = create_model(**after.config)
    for k in range(3):
        moved = not torch.equal(after.ics[k].fc.bias, fresh.ics[k].fc.bias)
        assert moved == biases_move, (k, method, train_ic_bias)
        assert not torch.equal(after.ics[k].fc.weight, fresh.ics[k].fc.weight)
