"""Test clips made with PyAV's ``mpeg4`` encoder (FFmpeg), the oracle of the decoder tests.

Content is synthetic but codec-realistic: a textured background that pans, with textured objects
moving on it at sub-pixel speeds, plus mild noise, so the encoder produces real motion vectors,
half-pel positions, intra macroblocks in P-frames and non-trivial residuals. Deterministic per seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

CONTAINER_FORMAT = {"m4v": "m4v", "avi": "avi", "mp4": "mp4"}

# lavfi sources for clips written by the ffmpeg program (libxvid GMC): a zoom and a rotation,
# which libxvid codes with global motion; `{w}`/`{h}` are the clip size.
GMC_ZOOM = "mandelbrot=size={w}x{h}:rate=25,zoompan=z='min(zoom+0.01,1.5)':d=1:s={w}x{h}"
GMC_ROTATE = "smptehdbars=size=352x288:rate=25,rotate=a='t*0.3':c=black,noise=alls=10:allf=t,scale={w}:{h}"


@dataclass(frozen=True)
class ClipSpec:
    """How to encode one test clip.

    ``options`` go to the encoder as AVOptions (e.g. ``{"mpeg_quant": "1", "ps": "300"}``);
    ``flags`` are added to ``-flags`` (e.g. ``("mv4", "aic")``).
    """

    width: int = 176
    height: int = 144
    frames: int = 24
    gop: int = 12
    bf: int = 0
    qscale: int | None = 4
    container: str = "m4v"
    flags: tuple[str, ...] = ()
    options: dict[str, str] = field(default_factory=dict)
    scene_cut: bool = False
    cut_every: int = 0  # > 0: jump to a new scene every N frames (forces scene-cut I-frames)
    seed: int = 0

    def filename(self, stem: str = "clip") -> str:
        return f"{stem}.{self.container}"


def render_frames(spec: ClipSpec) -> np.ndarray:
    """(frames, H, W, 3) uint8 RGB frames of a panning textured scene with moving objects."""
    rng = np.random.default_rng(spec.seed)
    h, w = spec.height, spec.width
    big_h, big_w = h + 64, w + 256
    yy, xx = np.mgrid[0:big_h, 0:big_w].astype(np.float32)

    def texture(scale: float) -> np.ndarray:
        out = np.zeros((big_h, big_w, 3), np.float32)
        for _ in range(4):
            fx, fy = rng.uniform(0.01, 0.15, 2) * scale
            ph = rng.uniform(0, 2 * np.pi, 3)
            amp = rng.uniform(20, 50, 3)
            for c in range(3):
                out[..., c] += amp[c] * np.sin(fx * xx + fy * yy + ph[c])
        return out + rng.uniform(60, 190, 3)

    def cut_scene() -> np.ndarray:
        # A drastic change (coarse random blocks over a new texture) so the encoder's scene-cut
        # detector fires; a merely different sine texture is predicted too well to trigger it.
        blocks = rng.integers(0, 255, (big_h // 8 + 1, big_w // 8 + 1, 3)).repeat(8, 0).repeat(8, 1)
        return texture(1.0) / 3 + blocks[:big_h, :big_w] * (2 / 3)

    n_cuts = spec.frames // spec.cut_every if spec.cut_every else 0
    scenes = [texture(1.0)] + [cut_scene() for _ in range(n_cuts)]
    objects = [
        dict(
            tex=texture(2.0),
            cx=rng.uniform(0.2, 0.8) * w,
            cy=rng.uniform(0.2, 0.8) * h,
            r=rng.uniform(0.08, 0.2) * min(h, w),
            vx=rng.uniform(-2.7, 2.7),
            vy=rng.uniform(-1.9, 1.9),
        )
        for _ in range(3)
    ]
    pan_x, pan_y = rng.uniform(0.3, 1.6), rng.uniform(-0.4, 0.4)
    frames = np.empty((spec.frames, h, w, 3), np.uint8)
    for t in range(spec.frames):
        scene = scenes[t // spec.cut_every if spec.cut_every else 0]
        ox, oy = int(round(pan_x * t)) % 200, int(round(16 + pan_y * t)) % 48
        img = scene[oy : oy + h, ox : ox + w].copy()
        fy, fx = np.mgrid[0:h, 0:w].astype(np.float32)
        for ob in objects:
            cx, cy = ob["cx"] + ob["vx"] * t, ob["cy"] + ob["vy"] * t
            mask = (fx - cx) ** 2 + (fy - cy) ** 2 < ob["r"] ** 2
            img[mask] = ob["tex"][: h, : w][mask]
        img += rng.normal(0, 2.0, img.shape)
        frames[t] = np.clip(img, 0, 255).astype(np.uint8)
    return frames


def make_clip(path: str | Path, spec: ClipSpec) -> Path:
    """Encode ``spec`` with FFmpeg's mpeg4 encoder through PyAV and write it to ``path``."""
    path = Path(path)
    frames = render_frames(spec)
    with av.open(str(path), "w", format=CONTAINER_FORMAT[spec.container]) as out:
        stream = out.add_stream("mpeg4", rate=Fraction(25, 1))
        stream.width, stream.height = spec.width, spec.height
        stream.pix_fmt = "yuv420p"
        cc = stream.codec_context
        cc.gop_size = spec.gop
        cc.max_b_frames = spec.bf
        # FFmpeg's scene-cut detector: a very negative threshold makes it fire on real cuts only
        # (with cut_every content); a huge one switches it off (CoViAR's fixed GOP).
        options = {"sc_threshold": "-10000" if spec.scene_cut else "1000000000"}
        if spec.qscale is not None:
            # A fixed quantiser like ffmpeg's -q:v. PyAV's `codec_context.qscale` alone does not do
            # it (the CLI also stamps each frame's quality), so pin the rate control's range.
            options["qmin"] = options["qmax"] = str(spec.qscale)
        else:
            cc.bit_rate = 400_000
        if spec.flags:
            options["flags"] = "".join(f"+{f}" for f in spec.flags)
        options.update(spec.options)
        stream.options = options
        for img in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def ffmpeg_frames(path: str | Path, export_mvs: bool = False) -> list[av.VideoFrame]:
    """Every frame FFmpeg decodes from ``path`` (one thread, display order)."""
    # Name the raw format: FFmpeg's probe can mistake a packet-heavy raw MPEG-4 stream for H.263.
    fmt = "m4v" if Path(path).suffix == ".m4v" else None
    with av.open(str(path), format=fmt) as container:
        stream = container.streams.video[0]
        stream.thread_type = "NONE"
        if export_mvs:
            stream.codec_context.options = {"flags2": "+export_mvs"}
        return list(container.decode(stream))
