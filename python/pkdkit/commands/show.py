"""``pkdkit show``: draw a frame's I-frame, motion vectors and residual side by side."""

from __future__ import annotations

import click


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--gop", type=int, default=0, show_default=True, help="GOP index.")
@click.option("--pos", type=int, default=1, show_default=True, help="Position in the GOP (0 = the I-frame).")
@click.option("--no-accumulate", is_flag=True, help="The frame's own vectors/residual instead of back to the I-frame.")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), required=True, help="Output PNG file.")
def show(file: str, gop: int, pos: int, no_accumulate: bool, out: str) -> None:
    """Draw GOP --gop's I-frame, and the motion vectors (flow colour wheel: hue = direction,
    saturation = length) and residual (+128) of position --pos, side by side in a PNG.
    """
    from ..representations import show as show_representations

    path = show_representations(file, gop, pos, out, accumulate=not no_accumulate)
    click.echo(f"wrote {path}")
