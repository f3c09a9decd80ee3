"""A synthetic action-recognition dataset in UCF-101's layout: the built-in data of demo and tests.

Two presets (:data:`PRESETS`, described in ``docs/synthetic.md``):

- ``actions`` (the demo's): classes come in pairs that share a scene; inside a pair a small
  prop's colour and the motion tell the two apart, every motion is shared with a class of another
  pair, and each preference holds only with some probability, so appearance is informative but
  not decisive and motion settles what appearance leaves open (:mod:`pkdkit.data._actions`);
- ``motion``: each class is a motion pattern (:data:`pkdkit.data._motion.CLASSES`) and appearance
  is drawn the same way for every class, so a single frame does not give the class away.

Videos are rendered with numpy and encoded in the CoViAR format by PyAV's ``mpeg4`` encoder.

Layout, as UCF-101::

    OUT/classInd.txt                      "1 MoveRight"
    OUT/trainlist01.txt                   "MoveRight/v_MoveRight_g03_c01.m4v 1"
    OUT/testlist01.txt                    "MoveRight/v_MoveRight_g01_c01.m4v"
    OUT/MoveRight/v_MoveRight_g01_c01.m4v
    OUT/datalists/synth_split1_train.txt  "MoveRight/v_MoveRight_g03_c01.m4v 0 48" (path label frames)

Clip ``i`` of a class goes to group ``i % G + 1``; the first 30 % of the groups are the test set,
so (as in UCF-101) no group is split between train and test.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ._actions import ACTION_CLASSES, make_action_scene
from ._encode import EncodeSpec, encode_video
from ._motion import CLASSES, make_scene
from ._pool import imap_processes
from ._scene import Scene, render

__all__ = ["SYNTH_CLASSES", "PRESETS", "Preset", "SynthVideo", "SynthResult", "synth_dataset", "render_synth_video"]


@dataclass(frozen=True)
class Preset:
    """A family of synthetic classes: their names (in ``--classes N`` order) and how a clip is made."""

    name: str
    classes: tuple[str, ...]
    make_scene: Callable[[str, int, int, int, np.random.Generator], Scene]


PRESETS: dict[str, Preset] = {
    "actions": Preset("actions", tuple(c.name for c in ACTION_CLASSES), make_action_scene),
    "motion": Preset("motion", tuple(CLASSES), make_scene),
}
#: The class names of the ``motion`` preset (the library's default preset).
SYNTH_CLASSES: tuple[str, ...] = PRESETS["motion"].classes


def get_preset(name: str) -> Preset:
    """The preset called ``name``; raises ``ValueError`` naming the presets otherwise."""
    if name not in PRESETS:
        raise ValueError(f"--preset {name!r}: expected one of {', '.join(PRESETS)}")
    return PRESETS[name]
CLIPS_PER_GROUP = 4
TEST_FRACTION = 0.3


@dataclass(frozen=True)
class SynthVideo:
    """One video of the set: its class, UCF-style group and clip numbers, and relative path."""

    label: int  # 0-based class index
    class_name: str
    group: int  # 1-based
    clip: int  # 1-based
    relpath: str
    is_test: bool


@dataclass(frozen=True)
class SynthResult:
    """What :func:`synth_dataset` wrote: the videos, UCF-101-style split files, and datalists."""

    root: Path
    videos: tuple[SynthVideo, ...]
    class_index: Path
    train_list: Path
    test_list: Path
    train_datalist: Path
    test_datalist: Path


def plan_videos(classes: int, videos_per_class: int, container: str, preset: str = "motion") -> list[SynthVideo]:
    """The videos of a set, in a fixed order, with their groups and train/test side.

    Raises:
        ValueError: if ``classes`` is not in 1..(classes of the preset), ``videos_per_class < 2``
            or the preset is unknown.
    """
    names = get_preset(preset).classes
    if not 1 <= classes <= len(names):
        raise ValueError(f"--classes {classes}: must be between 1 and {len(names)} for preset {preset!r}")
    if videos_per_class < 2:
        raise ValueError(f"--videos-per-class {videos_per_class}: need at least 2 (one train, one test)")
    groups = max(2, math.ceil(videos_per_class / CLIPS_PER_GROUP))
    test_groups = min(groups - 1, max(1, round(groups * TEST_FRACTION)))
    videos = []
    for label, name in enumerate(names[:classes]):
        for i in range(videos_per_class):
            group, clip = i % groups + 1, i // groups + 1
            relpath = f"{name}/v_{name}_g{group:02d}_c{clip:02d}.{container}"
            videos.append(SynthVideo(label, name, group, clip, relpath, group <= test_groups))
    return videos


def render_synth_video(
    video: SynthVideo, frames: int, width: int, height: int, seed: int, preset: str = "motion"
) -> np.ndarray:
    """The frames of one synthetic video, a pure function of its arguments.

    Returns:
        (frames, height, width, 3) uint8 RGB.
    """
    rng = np.random.default_rng([seed, video.label, video.group, video.clip])
    scene = get_preset(preset).make_scene(video.class_name, frames, width, height, rng)
    return render(scene, width, height, rng)


def _make_one(args: tuple[SynthVideo, Path, int, int, EncodeSpec, str]) -> str:
    video, root, frames, seed, spec, preset = args
    pixels = render_synth_video(video, frames, spec.width, spec.height, seed, preset)
    encode_video(pixels, root / video.relpath, spec)
    return video.relpath


def synth_dataset(
    out: str | Path,
    classes: int,
    videos_per_class: int,
    *,
    frames: int = 48,
    size: tuple[int, int] = (340, 256),
    seed: int = 0,
    container: str = "m4v",
    gop: int = 12,
    workers: int | None = None,
    progress: bool = True,
    preset: str = "motion",
) -> SynthResult:
    """Render and encode a synthetic action dataset under ``out``.

    The same arguments give the same bytes, whatever ``workers`` is.

    Args:
        out: output folder (created if missing; existing videos of the same names are replaced).
        classes: how many classes, the first ``classes`` of the preset's.
        videos_per_class: videos per class (at least 2).
        frames: frames per video.
        size: (width, height) in pixels, even numbers.
        seed: the random seed of the whole set.
        container: ``"m4v"`` (raw MPEG-4 Part 2 stream), ``"avi"`` or ``"mp4"``.
        gop: frames per GOP (CoViAR: 12).
        workers: parallel processes (default: the number of CPUs).
        progress: show a progress bar.
        preset: ``"motion"`` (classes are motion patterns) or ``"actions"`` (appearance
            informative, motion decisive); see :data:`PRESETS`.

    Returns:
        The written videos and split files.

    Raises:
        ValueError: on an argument out of range.
    """
    if frames < 1:
        raise ValueError(f"--frames {frames}: must be at least 1")
    spec = EncodeSpec(width=size[0], height=size[1], gop=gop, container=container)
    videos = plan_videos(classes, videos_per_class, container, preset)
    names = get_preset(preset).classes
    root = Path(out)
    for name in names[:classes]:
        (root / name).mkdir(parents=True, exist_ok=True)
    workers = max(1, min(workers or os.cpu_count() or 1, len(videos)))
    jobs = [(video, root, frames, seed, spec, preset) for video in videos]
    done = imap_processes(_make_one, jobs, workers)
    if progress:
        from rich.progress import track

        done = track(done, total=len(jobs), description=f"synth: {len(jobs)} videos")
    for _ in done:
        pass
    return SynthResult(root, tuple(videos), *_write_splits(root, names[:classes], videos, frames))


def _write_splits(root: Path, names: tuple[str, ...], videos: list[SynthVideo], frames: int) -> tuple[Path, ...]:
    class_index = root / "classInd.txt"
    train_list = root / "trainlist01.txt"
    test_list = root / "testlist01.txt"
    class_index.write_text("".join(f"{i + 1} {name}\n" for i, name in enumerate(names)))
    train_list.write_text("".join(f"{v.relpath} {v.label + 1}\n" for v in videos if not v.is_test))
    test_list.write_text("".join(f"{v.relpath}\n" for v in videos if v.is_test))
    # The same split as datalists ("path label frames", as `pkdkit prepare` writes), so the torch
    # datasets read the set directly.
    lists = root / "datalists"
    lists.mkdir(exist_ok=True)
    train_data, test_data = lists / "synth_split1_train.txt", lists / "synth_split1_test.txt"
    train_data.write_text("".join(f"{v.relpath} {v.label} {frames}\n" for v in videos if not v.is_test))
    test_data.write_text("".join(f"{v.relpath} {v.label} {frames}\n" for v in videos if v.is_test))
    return class_index, train_list, test_list, train_data, test_data
