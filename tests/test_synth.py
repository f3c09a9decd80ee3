"""``pkdkit synth``: layout, split files, determinism, decodability, and that the class is in the
motion (FFmpeg's own motion vectors) and not in the appearance."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from av.video.frame import PictureType
from click.testing import CliRunner
from vop_headers import vop_quants

from pkdkit.cli import main
from pkdkit.data.synth import SYNTH_CLASSES, plan_videos, render_synth_video, synth_dataset

from clips import ffmpeg_frames

TINY = dict(frames=16, size=(64, 48), progress=False)


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("synth") / "set"
    synth_dataset(root, 3, 5, seed=7, workers=1, **TINY)
    return root


def test_synth_layout_and_split_files(tiny_set: Path) -> None:
    assert (tiny_set / "classInd.txt").read_text().splitlines() == [
        "1 MoveRight",
        "2 MoveLeft",
        "3 MoveUp",
    ]
    train = [line.split() for line in (tiny_set / "trainlist01.txt").read_text().splitlines()]
    test = [line.split() for line in (tiny_set / "testlist01.txt").read_text().splitlines()]
    assert all(len(row) == 2 for row in train) and all(len(row) == 1 for row in test)
    listed = sorted([row[0] for row in train] + [row[0] for row in test])
    on_disk = sorted(str(p.relative_to(tiny_set)) for p in tiny_set.rglob("*.m4v"))
    assert listed == on_disk and len(on_disk) == 15
    for path, label in train:
        name = path.split("/")[0]
        assert SYNTH_CLASSES[int(label) - 1] == name
        assert path.startswith(f"{name}/v_{name}_g") and path.endswith(".m4v")
    # Whole groups go to one side, as in UCF-101.
    train_groups = {p.split("_g")[1][:2] for p, _ in train}
    test_groups = {row[0].split("_g")[1][:2] for row in test}
    assert train_groups and test_groups and not train_groups & test_groups
    assert not list(tiny_set.rglob(".*.tmp")), "temporary files left behind"
    # The same split as datalists for the torch datasets: "path label frames", labels from 0.
    data_train = (tiny_set / "datalists" / "synth_split1_train.txt").read_text().splitlines()
    data_test = (tiny_set / "datalists" / "synth_split1_test.txt").read_text().splitlines()
    assert data_train == [f"{p} {int(label) - 1} 16" for p, label in train]
    assert data_test == [f"{row[0]} {SYNTH_CLASSES.index(row[0].split('/')[0])} 16" for row in test]


def test_synth_videos_decode_with_fixed_gop(tiny_set: Path) -> None:
    for path in sorted(tiny_set.rglob("*.m4v")):
        frames = ffmpeg_frames(path)
        assert len(frames) == 16
        assert {(f.width, f.height) for f in frames} == {(64, 48)}
        types = "".join(PictureType(f.pict_type).name for f in frames)
        assert types == "I" + "P" * 11 + "I" + "P" * 3, path
        # CoViAR's fixed quantiser 1 in every frame (25 fps: 5-bit time increments).
        assert vop_quants(path.read_bytes(), 5) == [1] * 16, path


def test_synth_is_deterministic_and_seeded(tmp_path: Path, tiny_set: Path) -> None:
    # Another process count and order must not change a byte.
    again = tmp_path / "again"
    synth_dataset(again, 3, 5, seed=7, workers=2, **TINY)
    assert _digest(again) == _digest(tiny_set)
    other = tmp_path / "other"
    synth_dataset(other, 1, 2, seed=8, workers=1, **TINY)
    name = "MoveRight/v_MoveRight_g01_c01.m4v"
    assert (other / name).read_bytes() != (tiny_set / name).read_bytes()


@pytest.mark.parametrize("container", ["avi", "mp4"])
def test_synth_other_containers(tmp_path: Path, container: str) -> None:
    synth_dataset(tmp_path / "a", 1, 2, container=container, workers=1, **TINY)
    synth_dataset(tmp_path / "b", 1, 2, container=container, workers=1, **TINY)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    videos = sorted((tmp_path / "a").rglob(f"*.{container}"))
    assert len(videos) == 2
    assert all(len(ffmpeg_frames(v)) == 16 for v in videos)
    assert all(vop_quants(v.read_bytes(), 5) == [1] * 16 for v in videos)  # q 1 inside the container too


def _mean_motion(path: Path) -> tuple[float, float, float]:
    """Mean displacement (dst - src, pixels) of FFmpeg's exported MVs over all P-frames, and the
    mean divergence term (displacement . offset from the frame centre) for zoom."""
    dx, dy, div = [], [], []
    for frame in ffmpeg_frames(path, export_mvs=True):
        side = frame.side_data.get("MOTION_VECTORS")
        if side is None:
            continue
        mv = side.to_ndarray()
        ddx = (mv["dst_x"] - mv["src_x"]).astype(np.float64)
        ddy = (mv["dst_y"] - mv["src_y"]).astype(np.float64)
        ox, oy = mv["dst_x"] - frame.width / 2, mv["dst_y"] - frame.height / 2
        dx.append(ddx.mean())
        dy.append(ddy.mean())
        div.append(np.mean(ddx * ox + ddy * oy))
    return float(np.mean(dx)), float(np.mean(dy)), float(np.mean(div))


@pytest.fixture(scope="module")
def motion_by_class(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    root = tmp_path_factory.mktemp("synth_motion")
    result = synth_dataset(root, 12, 3, frames=12, size=(128, 96), seed=3, workers=2, progress=False)
    stats: dict[str, list] = {}
    for video in result.videos:
        stats.setdefault(video.class_name, []).append(_mean_motion(root / video.relpath))
    return {name: np.mean(rows, axis=0) for name, rows in stats.items()}


def test_translation_classes_move_the_expected_way(motion_by_class: dict[str, np.ndarray]) -> None:
    m = motion_by_class
    assert m["MoveRight"][0] > 0.02 and m["MoveLeft"][0] < -0.02
    assert m["MoveDown"][1] > 0.02 and m["MoveUp"][1] < -0.02
    for name in ("MoveRight", "MoveLeft"):
        assert abs(m[name][0]) > 3 * abs(m[name][1])
    for name in ("MoveUp", "MoveDown"):
        assert abs(m[name][1]) > 3 * abs(m[name][0])
    # The camera pans right: everything moves left, so the mean is far larger than an actor's.
    assert m["CameraPanRight"][0] < -0.5 and m["CameraPanRight"][0] < 5 * m["MoveLeft"][0]
    # Zooming in spreads motion outwards (positive divergence), zooming out pulls it in.
    assert m["ZoomIn"][2] > 1 and m["ZoomOut"][2] < -1


def test_appearance_does_not_give_the_class_away() -> None:
    """Leave-one-out nearest class mean on first-frame colour statistics stays near chance."""
    classes, per_class = len(SYNTH_CLASSES), 10
    features, labels = [], []
    for video in plan_videos(classes, per_class, "m4v"):
        first = render_synth_video(video, 1, 64, 48, seed=11)[0].reshape(-1, 3).astype(np.float64)
        features.append(np.concatenate([first.mean(0), first.std(0)]))
        labels.append(video.label)
    x, y = np.array(features), np.array(labels)
    x = (x - x.mean(0)) / x.std(0)
    hits = 0
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        means = np.array([x[keep & (y == c)].mean(0) for c in range(classes)])
        hits += int(np.argmin(((means - x[i]) ** 2).sum(1)) == y[i])
    # Chance is 1/12 = 0.083; 120 samples give a standard deviation of about 0.025.
    assert hits / len(y) < 0.2


def test_synth_cli(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "cli"
    result = runner.invoke(
        main, ["synth", str(out), "--classes", "2", "--videos-per-class", "2", "--frames", "4",
               "--size", "32x32", "--workers", "1"],
    )
    assert result.exit_code == 0, result.output
    assert "wrote 4 videos (2 train, 2 test) of 2 classes" in result.output
    assert len(list(out.rglob("*.m4v"))) == 4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--classes", "13"], "--classes 13"),
        (["--videos-per-class", "1"], "--videos-per-class 1"),
        (["--size", "33x32"], "size '33x32'"),
        (["--size", "big"], "size 'big'"),
    ],
)
def test_synth_cli_fails(tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["synth", str(tmp_path / "x"), "--frames", "2", *args])
    assert result.exit_code == 1
    assert message in result.output


# ------------------------------------------------------------------------------ the actions preset


def test_actions_preset_layout_and_determinism(tmp_path: Path) -> None:
    from pkdkit.data.synth import PRESETS

    names = PRESETS["actions"].classes
    assert names == ("Swim", "Juggle", "Fence", "Dive", "Run", "Dribble", "Wrestle", "Cartwheel")
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    synth_dataset(a, 3, 2, seed=5, workers=1, preset="actions", **TINY)
    synth_dataset(b, 3, 2, seed=5, workers=2, preset="actions", **TINY)
    synth_dataset(c, 3, 2, seed=6, workers=1, preset="actions", **TINY)
    assert (a / "classInd.txt").read_text().splitlines() == ["1 Swim", "2 Juggle", "3 Fence"]
    assert _digest(a) == _digest(b)  # the seed, not the process count, decides every byte
    videos = [p for p in _digest(a) if p.endswith(".m4v")]
    assert len(videos) == 6
    assert all(_digest(a)[v] != _digest(c)[v] for v in videos)  # another seed, other clips
    assert all(len(ffmpeg_frames(a / v)) == 16 for v in videos)
    with pytest.raises(ValueError, match="between 1 and 8 for preset 'actions'"):
        plan_videos(9, 2, "m4v", "actions")
    with pytest.raises(ValueError, match="--preset 'nope'"):
        plan_videos(2, 2, "m4v", "nope")


def test_actions_cues_follow_the_documented_probabilities() -> None:
    """Each clip draws its class's own motion, scene, prop and colour with the probabilities of
    PREFERENCE (docs/synthetic.md), and otherwise one of the others."""
    from pkdkit.data._actions import ACTION_CLASSES, PREFERENCE, make_action_scene

    draws = 300
    for cls in ACTION_CLASSES[:4]:
        own = dict.fromkeys(PREFERENCE, 0)
        for i in range(draws):
            scene = make_action_scene(cls.name, 4, 64, 48, np.random.default_rng([1, i]))
            for cue in PREFERENCE:
                own[cue] += scene.cues[cue] == getattr(cls, cue)
        for cue, p in PREFERENCE.items():
            # Binomial standard deviation at 300 draws is at most 0.029: allow 4 of them.
            assert abs(own[cue] / draws - p) < 0.115, (cls.name, cue, own[cue] / draws)


def test_actions_classes_pair_up_by_scene() -> None:
    """The documented structure: classes come in pairs that share a scene and differ in motion and
    prop colour; every motion belongs to two classes of different pairs. So the scene alone names
    a pair (Bayes 0.45), the I-frame's cues name the class far better, and motion adds to them."""
    from pkdkit.data._actions import ACTION_CLASSES, bayes_accuracy

    by_scene: dict[str, list] = {}
    for cls in ACTION_CLASSES:
        by_scene.setdefault(cls.scene, []).append(cls)
    assert sorted(len(pair) for pair in by_scene.values()) == [2, 2, 2, 2]
    for a, b in by_scene.values():
        assert a.motion != b.motion and a.prop != b.prop and a.colour != b.colour, (a, b)
    for motion in {c.motion for c in ACTION_CLASSES}:
        scenes = [c.scene for c in ACTION_CLASSES if c.motion == motion]
        assert len(scenes) == 2 and scenes[0] != scenes[1], motion
    scene = bayes_accuracy({"scene"})
    iframe = bayes_accuracy({"scene", "prop", "colour"})
    motion = bayes_accuracy({"motion"})
    everything = bayes_accuracy({"scene", "prop", "colour", "motion"})
    assert abs(scene - 0.45) < 1e-9  # the pair (0.9) times a coin flip inside it
    assert scene + 0.3 < iframe < everything - 0.02 and motion < iframe, (scene, iframe, motion, everything)


def test_actions_banner_is_the_same_in_every_class() -> None:
    """The banner (a large area of a prop's colour) shows in a fraction BANNER of the clips of every class,
    in either prop colour: it tells nothing about the class, only the small prop does."""
    from pkdkit.data._actions import ACTION_CLASSES, BANNER, PROP_COLOURS, make_action_scene

    draws = 200
    for cls in ACTION_CLASSES[:4]:
        scenes = [make_action_scene(cls.name, 2, 64, 48, np.random.default_rng([2, i])) for i in range(draws)]
        shown = [s.cues["banner"] for s in scenes if s.cues["banner"] != "none"]
        assert abs(len(shown) / draws - BANNER) < 0.13, (cls.name, len(shown))
        assert set(shown) == set(PROP_COLOURS), (cls.name, set(shown))
        # The prop is the front actor, small; the banner (when shown) the back one, large.
        for s in scenes[:20]:
            assert s.actors[0].shape.radius < 0.25 * 48
            if s.cues["banner"] != "none":
                assert s.actors[-1].shape.radius > 0.35 * 48


def _representations(root: Path, videos, modality: str, positions: tuple[int, ...], gops: int):
    """(N, S, C, H/2, W/2) network inputs: pkdkit's own representations, normalised as for training."""
    import torch

    import pkdkit
    from pkdkit.data.transforms import normalize

    paths = [str(root / v.relpath) for v in videos]
    samples = []
    for g in range(gops):
        for p in positions:
            raw = pkdkit.load_batch(paths, [g] * len(paths), [p] * len(paths), modality, threads=1)
            samples.append(torch.nn.functional.avg_pool2d(normalize(torch.from_numpy(np.asarray(raw)), modality), 2))
    return torch.stack(samples, 1)


def _small_cnn_accuracy(x, y, train, test, classes: int, seed: int, epochs: int = 20) -> float:
    """Test accuracy of a three-layer CNN trained on ``x[train]``; a video's samples vote by mean logits."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    n, s, c, h, w = x.shape
    net = nn.Sequential(
        nn.Conv2d(c, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(32, classes),
    )
    opt = torch.optim.Adam(net.parameters(), 3e-3, weight_decay=1e-4)
    xs, ys = x[train].reshape(-1, c, h, w), y[train].repeat_interleave(s)
    order = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        net.train()
        perm = torch.randperm(len(xs), generator=order)
        for i in range(0, len(perm), 32):
            batch = perm[i:i + 32]
            loss = nn.functional.cross_entropy(net(xs[batch]), ys[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        logits = net(x[test].reshape(-1, c, h, w)).reshape(-1, s, classes).mean(1)
    return float((logits.argmax(1) == y[test]).float().mean())


@pytest.mark.slow
def test_actions_single_networks_rank_like_coviar(tmp_path: Path) -> None:
    """CoViAR's order on a small instance: a small CNN on pkdkit's I-frames beats one on its
    residuals, which beats one on its motion vectors, all above chance (8 classes, 12.5 %).

    Seeds 0, 1 and 2 gave I / R / MV = 45.3 / 31.2 / 25.0, 53.1 / 39.1 / 17.2 and
    51.6 / 48.4 / 31.2 % on the 64 test videos; this test runs seed 0 with margins below the
    tightest of the three (I - R >= 3.2 points, R - MV >= 6.2, I - chance >= 32.8). At 64x48 the
    motion-vector field has only 4x3 macroblocks, so the MV network sits close to chance here; the
    demo's 128x96 gives it more. The early exits are not checked here: at 32x24 network inputs the
    prop is a blob of a few pixels, and the demo's report measures them at 128x96.
    """
    import torch

    seed, frames = 0, 24
    root = tmp_path / "actions"
    result = synth_dataset(root, 8, 24, frames=frames, size=(64, 48), seed=seed, workers=2, progress=False,
                           preset="actions")
    videos = result.videos
    y = torch.tensor([v.label for v in videos])
    test = torch.tensor([v.is_test for v in videos])
    acc = {}
    for modality, positions in (("iframe", (0,)), ("mv", (6, 11)), ("residual", (6, 11))):
        x = _representations(root, videos, modality, positions, frames // 12)
        acc[modality] = _small_cnn_accuracy(x, y, ~test, test, 8, seed)
    assert int(test.sum()) == 64
    assert acc["iframe"] - acc["residual"] >= 0.03, acc
    assert acc["residual"] - acc["mv"] >= 0.06, acc
    assert acc["iframe"] - 1 / 8 >= 0.3, acc
