"""Multi-exit networks: shapes of every exit, stopping early, freezing, checkpoints, pretrained weights."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from pkdkit.models import (
    MixedPool2d,
    MultiExitNet,
    create_model,
    list_models,
    load_checkpoint,
    load_pretrained,
)

MODALITIES = ("iframe", "mv", "residual")
CHANNELS = {"iframe": 3, "mv": 2, "residual": 3}


@pytest.mark.parametrize("arch", list_models())
@pytest.mark.parametrize("modality", MODALITIES)
def test_every_model_forward_backward(arch: str, modality: str) -> None:
    torch.manual_seed(0)
    # Narrow widths keep the deep nets fast; depth and block type are the registered ones.
    model = create_model(arch, modality=modality, num_classes=5, widths=(8, 8, 16, 16))
    x = torch.randn(3, 2, CHANNELS[modality], 32, 32)
    logits = model(x)
    assert len(logits) == 4
    for z in logits:
        assert z.shape == (3, 5) and z.dtype == torch.float32
        assert torch.isfinite(z).all()
    sum(z.logsumexp(1).sum() for z in logits).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
    assert (model.data_bn is not None) == (modality != "iframe")
    assert model.backbone.conv1.in_channels == CHANNELS[modality]


def test_paper_ic_heads_resnet18_mv() -> None:
    model = create_model("resnet18", modality="mv", num_classes=101)
    convs = [(h.conv.in_channels, h.conv.out_channels, h.conv.kernel_size, h.conv.padding) for h in model.ics]
    assert convs == [(64, 64, (7, 7), (1, 1)), (128, 128, (3, 3), (1, 1)), (256, 256, (3, 3), (1, 1))]
    assert [h.fc.in_features for h in model.ics] == [64 * 16, 128 * 16, 256 * 16]
    assert all(h.conv.bias is None for h in model.ics)
    assert isinstance(model.data_bn, nn.BatchNorm2d) and model.data_bn.num_features == 2
    assert model.backbone.fc.out_features == 101
    out = model(torch.randn(1, 1, 2, 64, 64))
    assert [tuple(z.shape) for z in out] == [(1, 101)] * 4


def test_paper_ic_heads_resnet50_iframe_is_default() -> None:
    model = create_model(modality="iframe", num_classes=51)
    assert model.config["arch"] == "resnet50"
    convs = [(h.conv.in_channels, h.conv.out_channels, h.conv.kernel_size) for h in model.ics]
    assert convs == [(256, 64, (3, 3)), (512, 256, (3, 3)), (1024, 1024, (3, 3))]
    assert model.data_bn is None
    assert create_model(modality="residual", num_classes=3).config["arch"] == "resnet18"


def test_exits_average_segments() -> None:
    torch.manual_seed(0)
    model = create_model("resnet10_tiny", modality="residual", num_classes=4).eval()
    x = torch.randn(2, 3, 3, 32, 32)
    together = model(x)
    apart = [model(x[:, s : s + 1]) for s in range(3)]
    for k in range(4):
        expected = torch.stack([a[k] for a in apart]).mean(0)
        torch.testing.assert_close(together[k], expected, rtol=1e-5, atol=1e-5)


def _call_counter(model: MultiExitNet) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name, module in model.named_modules():
        if name:
            module.register_forward_hook(lambda m, i, o, name=name: counts.__setitem__(name, counts.get(name, 0) + 1))
    return counts


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_forward_until_computes_nothing_beyond_exit_k(k: int) -> None:
    torch.manual_seed(0)
    model = create_model("resnet10_tiny", modality="mv", num_classes=3).eval()
    x = torch.randn(2, 2, 2, 32, 32)
    full = model(x)
    counts = _call_counter(model)
    out = model.forward_until(x, k)
    assert len(out) == k
    for a, b in zip(out, full):
        torch.testing.assert_close(a, b)
    called = set(counts)
    stages = [f"backbone.layer{i}" for i in range(1, 5)]
    heads = ["ics.0", "ics.1", "ics.2", "backbone.fc"]
    assert {s for s in stages if s in called} == set(stages[:k])
    assert {h for h in heads if h in called} == set(heads[:k])
    assert ("backbone.avgpool" in called) == (k == 4)
    # nothing inside a later stage ran either
    assert not any(n.startswith(tuple(stages[k:])) for n in called)


def test_forward_exits_subset_and_bad_exits() -> None:
    model = create_model("resnet10_tiny", modality="iframe", num_classes=3).eval()
    counts = _call_counter(model)
    out = model(torch.randn(1, 1, 3, 32, 32), exits=(4,))
    assert len(out) == 1 and out[0].shape == (1, 3)
    assert not any(n.startswith("ics") for n in counts)
    with pytest.raises(ValueError, match="subset of 1..4"):
        model(torch.randn(1, 1, 3, 32, 32), exits=(0, 5))
    with pytest.raises(ValueError, match=r"\(B, S, C, H, W\)"):
        model(torch.randn(3, 32, 32))
    with pytest.raises(ValueError, match="iframe network takes 3 channels"):
        model(torch.randn(1, 1, 2, 32, 32))


def test_mixed_pooling_matches_formula_and_learns_alpha() -> None:
    torch.manual_seed(0)
    pool = MixedPool2d(4)
    assert 0 <= pool.alpha.item() < 1
    x = torch.randn(2, 3, 8, 8)
    expected = pool.alpha * nn.functional.max_pool2d(x, 2) + (1 - pool.alpha) * nn.functional.avg_pool2d(x, 2)
    torch.testing.assert_close(pool(x), expected)
    model = create_model("resnet10_tiny", modality="iframe", num_classes=3, ic_pool="mixed")
    # 128x128 input: every IC sees a map larger than 4x4, where max and average pooling differ
    sum(z.sum() for z in model(torch.randn(2, 1, 3, 128, 128))[:3]).backward()
    assert all(h.pool.alpha.grad is not None and h.pool.alpha.grad.abs() > 0 for h in model.ics)


def test_create_model_rejects_unknowns() -> None:
    with pytest.raises(ValueError, match="unknown architecture 'resnet7'"):
        create_model("resnet7", modality="mv", num_classes=3)
    with pytest.raises(ValueError, match="unknown modality 'flow'"):
        create_model("resnet18", modality="flow", num_classes=3)
    with pytest.raises(ValueError, match="unknown IC pooling"):
        create_model("resnet18", modality="mv", num_classes=3, ic_pool="max")


def test_freeze_backbone_keeps_bn_in_eval() -> None:
    model = create_model("resnet10_tiny", modality="mv", num_classes=3)
    model.freeze_backbone()
    model.train()
    assert not any(p.requires_grad for m in model.backbone_modules() for p in m.parameters())
    assert all(p.requires_grad for p in model.ics.parameters())
    assert not model.backbone.bn1.training and not model.data_bn.training
    assert model.ics[0].bn.training
    model.freeze_backbone(bn_stats=False)
    model.train()
    assert model.backbone.bn1.training
    model.freeze_ics()
    assert not any(p.requires_grad for p in model.ics.parameters())
    assert all(p.requires_grad for p in model.backbone.parameters())


def test_load_checkpoint_round_trip(tmp_path) -> None:
    torch.manual_seed(0)
    model = create_model("resnet10_tiny", modality="mv", num_classes=6, ic_pool="mixed")
    torch.save({"model_config": model.config, "model": model.state_dict()}, tmp_path / "checkpoint.pt")
    loaded = load_checkpoint(tmp_path)  # a run directory
    assert not loaded.training and loaded.config == model.config
    x = torch.randn(2, 2, 2, 32, 32)
    for a, b in zip(model.eval()(x), loaded(x)):
        assert torch.equal(a, b)


def test_load_checkpoint_fails_clearly(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")
    torch.save({"weights": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a pkdkit checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    (tmp_path / "torn.pt").write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(ValueError, match="torn.pt: not a readable checkpoint"):
        load_checkpoint(tmp_path / "torn.pt")


def test_pretrained_torchvision_state_dict_into_mv_net(tmp_path) -> None:
    torch.manual_seed(0)
    reference = torchvision.models.resnet18(weights=None)
    path = tmp_path / "resnet18.pth"
    torch.save({"state_dict": {"module." + k: v for k, v in reference.state_dict().items()}}, path)
    model = create_model("resnet18", modality="mv", num_classes=7, pretrained=path)
    rgb = reference.conv1.weight
    torch.testing.assert_close(model.backbone.conv1.weight, rgb.mean(1, keepdim=True).expand(-1, 2, -1, -1))
    assert torch.equal(model.backbone.layer3[1].conv2.weight, reference.layer3[1].conv2.weight)
    assert torch.equal(model.backbone.bn1.running_var, reference.bn1.running_var)
    assert model.backbone.fc.out_features == 7  # the 1000-class fc was skipped
    assert "pretrained" not in model.config


def test_pretrained_wrong_depth_fails(tmp_path) -> None:
    path = tmp_path / "resnet34.pth"
    torch.save(torchvision.models.resnet34(weights=None).state_dict(), path)
    model = create_model("resnet18", modality="iframe", num_classes=3)
    with pytest.raises(ValueError, match="resnet34.pth"):
        load_pretrained(model, path)
    with pytest.raises(FileNotFoundError):
        load_pretrained(model, tmp_path / "nope.pth")


def test_channels_last_gives_the_same_logits() -> None:
    # The CUDA fast path (channels_last weights and inputs) must not change the function.
    torch.manual_seed(0)
    model = create_model("resnet10_tiny", modality="mv", num_classes=3).eval()
    x = torch.randn(2, 2, 2, 32, 32)
    plain = model(x)
    fast = model.use_channels_last()(x)
    assert model.backbone.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    for a, b in zip(plain, fast):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_features_and_head_compose_to_exit_4() -> None:
    torch.manual_seed(0)
    model = create_model("resnet10_tiny", modality="iframe", num_classes=3).eval()
    x = torch.randn(2, 3, 3, 32, 32)
    features = model.forward_features(x)
    assert features.shape == (6, 128, 1, 1)
    torch.testing.assert_close(model.forward_head(features, segments=3), model(x)[3])
    maps = model.forward_intermediates(x, (1, 3))
    assert [tuple(m.shape) for m in maps] == [(6, 16, 8, 8), (6, 64, 2, 2)]
