"""``pkdkit show``: draw a frame's I-frame, motion vectors and residual side by side."""

from __future__ import annotations

import click


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--gop", type=int, default=0, show_default=True, help="GOP index.")
@click.option("--pos", type=int, default=None,
              help="Position in the GOP (0 = the I-frame) [default: 1, or 0 when the GOP has one frame].")
@click.option("--no-accumulate", is_flag=True, help="The frame's own vectors/residual instead of back to the I-frame.")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), required=True, help="Output PNG file.")
def show(file: str, gop: int, pos: int | None, no_accumulate: bool, out: str) -> None:
    """Draw GOP --gop's I-frame, and the motion vectors (flow colour wheel: hue = direction,
    saturation = length) and residual (+128) of position --pos, side by side in a PNG.
    """
    from ..representations import show as show_representations

    if pos is None:
        pos = default_position(file, gop)
    path = show_representations(file, gop, pos, out, accumulate=not no_accumulate)
    click.echo(f"wrote {path}")


def default_position(file: str, gop: int) -> int:
    """Position 1 of GOP ``gop``, or its I-frame (0) when the GOP has no other frame."""
    from ..video import open as open_video

    lengths = open_video(file, fallback=True).gop_lengths
    return 1 if 0 <= gop < len(lengths) and lengths[gop] > 1 else 0
