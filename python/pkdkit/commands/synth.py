"""``pkdkit synth``: write the synthetic action-recognition dataset."""

from __future__ import annotations

import click


@click.command()
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--preset", type=click.Choice(["actions", "motion"]), default="actions", show_default=True,
              help="actions: appearance informative, motion decisive (8 classes); motion: classes differ "
                   "in motion only (12 classes).")
@click.option("--classes", type=int, default=8, show_default=True,
              help="Number of classes, the first N of the preset (max 8 for actions, 12 for motion).")
@click.option("--videos-per-class", type=int, default=20, show_default=True, help="Videos per class.")
@click.option("--frames", type=int, default=48, show_default=True, help="Frames per video.")
@click.option("--size", default="340x256", show_default=True, help="Frame size WIDTHxHEIGHT.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed of the whole set.")
@click.option(
    "--container", type=click.Choice(["m4v", "avi", "mp4"]), default="m4v", show_default=True,
    help="m4v: raw MPEG-4 Part 2 stream (CoViAR's format); avi or mp4: the same stream in a container.",
)
@click.option("--gop", type=int, default=12, show_default=True, help="Frames per GOP.")
@click.option("--workers", type=int, default=None, help="Parallel processes [default: CPU count].")
def synth(
    out: str, preset: str, classes: int, videos_per_class: int, frames: int, size: str, seed: int,
    container: str, gop: int, workers: int | None,
) -> None:
    """Write a synthetic action dataset to OUT, laid out like UCF-101.

    Preset actions (Swim, Juggle, Fence, Dive, Run, Dribble, Wrestle, Cartwheel): classes come in
    pairs that share a scene; inside a pair a small prop's colour and the motion tell the two
    apart, every motion is shared with a class of another pair, and each preference holds only
    some of the time, so a single frame hints at the class and the motion settles it.
    Preset motion (MoveRight, MoveLeft, MoveUp, MoveDown, RotateClockwise,
    RotateCounterclockwise, ZoomIn, ZoomOut, Collide, Separate, CameraPanRight,
    OscillateHorizontal): appearance is drawn the same way for every class, so the class shows only
    in the motion. --classes N takes the first N; docs/synthetic.md describes every class.
    Videos are MPEG-4 Part 2 in the CoViAR format (quantiser 1,
    fixed GOP, no B-frames), named CLASS/v_CLASS_gXX_cYY.EXT, with classInd.txt, trainlist01.txt
    and testlist01.txt, and datalists/synth_split1_{train,test}.txt for the torch datasets. The
    same arguments always give the same bytes.
    """
    from ..data._encode import parse_size
    from ..data.synth import synth_dataset

    result = synth_dataset(
        out, classes, videos_per_class, frames=frames, size=parse_size(size), seed=seed,
        container=container, gop=gop, workers=workers, preset=preset,
    )
    n_test = sum(v.is_test for v in result.videos)
    click.echo(
        f"wrote {len(result.videos)} videos ({len(result.videos) - n_test} train, {n_test} test) "
        f"of {classes} classes to {result.root}"
    )
