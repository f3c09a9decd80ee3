"""``pkdkit synth``: write the synthetic action-recognition dataset."""

from __future__ import annotations

import click


@click.command()
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--classes", type=int, default=10, show_default=True, help="Number of classes (max 12).")
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
    out: str, classes: int, videos_per_class: int, frames: int, size: str, seed: int,
    container: str, gop: int, workers: int | None,
) -> None:
    """Write a synthetic action dataset to OUT, laid out like UCF-101.

    Each class is a motion pattern (MoveRight, MoveLeft, MoveUp, MoveDown, RotateClockwise,
    RotateCounterclockwise, ZoomIn, ZoomOut, Collide, Separate, CameraPanRight,
    OscillateHorizontal; --classes N takes the first N). Textures, shapes, places, lighting and
    noise are drawn the same way for every class, so the class shows in the motion (motion vectors,
    residuals), not in a single frame. Videos are MPEG-4 Part 2 in the CoViAR format (quantiser 1,
    fixed GOP, no B-frames), named CLASS/v_CLASS_gXX_cYY.EXT, with classInd.txt, trainlist01.txt
    and testlist01.txt, and datalists/synth_split1_{train,test}.txt for the torch datasets. The
    same arguments always give the same bytes.
    """
    from ..data._encode import parse_size
    from ..data.synth import synth_dataset

    result = synth_dataset(
        out, classes, videos_per_class, frames=frames, size=parse_size(size), seed=seed,
        container=container, gop=gop, workers=workers,
    )
    n_test = sum(v.is_test for v in result.videos)
    click.echo(
        f"wrote {len(result.videos)} videos ({len(result.videos) - n_test} train, {n_test} test) "
        f"of {classes} classes to {result.root}"
    )
