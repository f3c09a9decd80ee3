"""``pkdkit extract``: save one frame's CoViAR representation as a .npy file."""

from __future__ import annotations

import click

from ..vocabulary import MODALITIES


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--gop", type=int, required=True, help="GOP index (a GOP starts at each I-frame).")
@click.option("--pos", type=int, default=0, show_default=True, help="Position in the GOP (0 = the I-frame).")
@click.option(
    "--rep", "representation", type=click.Choice(MODALITIES), required=True,
    help="iframe: (H,W,3) uint8; mv: (H,W,2) int32 (dx, dy); residual: (H,W,3) int16.",
)
@click.option("--no-accumulate", is_flag=True, help="The frame's own vectors/residual instead of back to the I-frame.")
@click.option("--bgr", is_flag=True, help="BGR channel order (CoViAR's) for iframe and residual.")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), required=True, help="Output .npy file.")
def extract(file: str, gop: int, pos: int, representation: str, no_accumulate: bool, bgr: bool, out: str) -> None:
    """Save the I-frame, motion vectors or residual of position --pos of GOP --gop of FILE.

    Motion vectors and residuals are accumulated back to the GOP's I-frame (CoViAR's default)
    unless --no-accumulate is given. The array is written with numpy.save.
    """
    import numpy as np

    from ..representations import extract as extract_representation

    array = extract_representation(file, gop, pos, representation, accumulate=not no_accumulate, bgr=bgr)
    np.save(out, array)
    click.echo(f"wrote {out}: {representation} {array.shape} {array.dtype}")
