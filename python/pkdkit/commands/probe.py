"""``pkdkit probe``: show what a video file holds (container, codec, size, frames, GOPs)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import click


def probe_info(path: str) -> dict[str, Any]:
    """The metadata ``pkdkit probe`` prints, as a JSON-ready dict.

    Args:
        path: The video file.

    Returns:
        ``path, container, codec, profile, width, height, fps, num_frames, num_gops,
        gop_starts, gop_lengths, frame_types``.

    Raises:
        pkdkit.VideoError: The file cannot be read as an MPEG-4 Part 2 video (subclass says why).
        FileNotFoundError: No such file.
    """
    from ..video import open as open_video

    video = open_video(path)
    return {
        "path": str(video.path),
        "container": video.container,
        "codec": video.codec,
        "profile": video.profile,
        "width": video.width,
        "height": video.height,
        "fps": video.fps,
        "num_frames": video.num_frames,
        "num_gops": video.num_gops,
        "gop_starts": video.gop_starts,
        "gop_lengths": video.gop_lengths,
        "frame_types": video.frame_types,
    }


def gop_length_counts(lengths: list[int]) -> str:
    """GOP lengths with how many GOPs have each, most common first: ``"12 x 10, 7 x 1"``
    (ten GOPs of 12 frames, one of 7); ``"-"`` for none."""
    counts = Counter(lengths)
    order = sorted(counts, key=lambda n: (-counts[n], -n))
    return ", ".join(f"{n} x {counts[n]}" for n in order) or "-"


def format_table(info: dict[str, Any], max_types: int = 72) -> str:
    """A human-readable two-column table of :func:`probe_info`'s fields."""
    types = info["frame_types"]
    if len(types) > max_types:
        types = f"{types[:max_types]}... ({len(types)} frames)"
    rows = [
        ("file", info["path"]),
        ("container", info["container"]),
        ("codec", f"{info['codec']} ({info['profile']})"),
        ("size", f"{info['width']}x{info['height']}"),
        ("fps", f"{info['fps']:g}"),
        ("frames", str(info["num_frames"])),
        ("GOPs", f"{info['num_gops']} (lengths {gop_length_counts(info['gop_lengths'])})"),
        ("frame types", types),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the fields as one JSON object.")
def probe(file: str, as_json: bool) -> None:
    """Show the container, codec, frame size, frame rate, frame types and GOPs of FILE.

    FILE is an MPEG-4 Part 2 video: a raw stream (.m4v, CoViAR's .mp4), AVI or MP4. Frame count
    and picture types are the ones FFmpeg decodes. With --json the fields (num_frames,
    frame_types, gop_starts, width, height, fps, codec, profile, container, ...) are printed as
    JSON.
    """
    info = probe_info(file)
    click.echo(json.dumps(info) if as_json else format_table(info))
