"""Writing MPEG-4 Part 2 video in the CoViAR format with PyAV, atomically.

CoViAR re-encodes with ``ffmpeg -vf scale=340:256 -q:v 1 -c:v mpeg4``: a fixed quantiser of 1,
libavcodec's default GOP of 12 and no B-frames. We also switch off FFmpeg's scene-cut detector so
every GOP has exactly ``gop`` frames (the last one may be shorter).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterable, Union

import av
import numpy as np

# Container name (the --container option and file extension) -> FFmpeg muxer.
MUXERS = {"m4v": "m4v", "avi": "avi", "mp4": "mp4"}


@dataclass(frozen=True)
class EncodeSpec:
    """How to encode: frame size, GOP length, quantiser, frame rate and container."""

    width: int = 340
    height: int = 256
    gop: int = 12
    qscale: int = 1
    fps: Fraction = Fraction(25, 1)
    container: str = "m4v"

    def __post_init__(self) -> None:
        if self.container not in MUXERS:
            raise ValueError(f"container {self.container!r} is not one of {sorted(MUXERS)}")
        if self.width < 16 or self.height < 16 or self.width % 2 or self.height % 2:
            raise ValueError(f"frame size {self.width}x{self.height}: need even sides of at least 16")
        if self.gop < 1:
            raise ValueError(f"gop {self.gop}: must be at least 1")


def parse_size(text: str) -> tuple[int, int]:
    """``"340x256"`` -> ``(340, 256)``; raises ``ValueError`` on anything else."""
    try:
        w, h = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"size {text!r}: expected WIDTHxHEIGHT, e.g. 340x256") from None
    if w < 16 or h < 16 or w % 2 or h % 2:
        raise ValueError(f"size {text!r}: need even sides of at least 16")
    return w, h


Frame = Union[np.ndarray, av.VideoFrame]


def encode_video(frames: Iterable[Frame], path: str | Path, spec: EncodeSpec) -> int:
    """Encode ``frames`` to ``path`` atomically: a temporary file renamed into place at the end.

    Args:
        frames: (H, W, 3) uint8 RGB arrays of size ``spec.width x spec.height``, or PyAV frames of
            any size and format (scaled with bicubic interpolation, as FFmpeg's scale filter does).
        path: destination; its parent folder must exist. Untouched if encoding fails.
        spec: the encoding settings.

    Returns:
        The number of frames written.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    count = 0
    try:
        with av.open(str(tmp), "w", format=MUXERS[spec.container]) as out:
            stream = out.add_stream("mpeg4", rate=spec.fps)
            stream.width, stream.height = spec.width, spec.height
            stream.pix_fmt = "yuv420p"
            cc = stream.codec_context
            cc.gop_size = spec.gop
            cc.max_b_frames = 0
            cc.thread_count = 1  # one thread: the same bytes on every run
            # A fixed quantiser as ffmpeg's -q:v: PyAV's `qscale` alone leaves each frame's quality
            # unset, and the encoder then falls back to qmin (2), so pin qmin = qmax instead.
            q = str(spec.qscale)
            stream.options = {"sc_threshold": "1000000000", "qmin": q, "qmax": q}
            for frame in frames:
                if isinstance(frame, np.ndarray):
                    frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
                frame = frame.reformat(spec.width, spec.height, "yuv420p", interpolation="BICUBIC")
                # Decoded frames carry their source's timestamps and time base; number them afresh.
                frame.pts = count
                frame.time_base = 1 / spec.fps
                count += 1
                for packet in stream.encode(frame):
                    out.mux(packet)
            for packet in stream.encode(None):
                out.mux(packet)
        if count == 0:
            raise ValueError(f"{path}: no frames to encode")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return count
