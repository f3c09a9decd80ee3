"""Natural-looking test video for the decode benchmark, made from scratch (nothing downloaded).

Real footage has a 1/f amplitude spectrum, occlusion edges at all scales, and motion that is mostly
a smooth camera move plus a few independently moving objects. This renders exactly that:

* the scene is a "dead leaves" image (many overlapping discs with a power-law size distribution,
  the classic model of natural-image statistics), each disc shaded with 1/f ("pink") noise;
* the camera pans and slowly zooms over it along a smooth random path at sub-pixel positions
  (bilinear sampling, so the encoder sees half-pel motion);
* a few foreground leaves move across the frame on their own paths (occlusions, intra blocks);
* global brightness drifts slowly and sensor noise (sigma 1.5) is added per frame.

Deterministic per seed. Encoded in the CoViAR format: MPEG-4 Part 2 by FFmpeg's ``mpeg4``
encoder, 340x256, ``q:v 1``, GOP 12, no B-frames, raw elementary stream.
"""

from __future__ import annotations

import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def pink_noise(rng: np.random.Generator, h: int, w: int, exponent: float = 1.0) -> np.ndarray:
    """(h, w) float32 noise with amplitude spectrum 1/f**exponent, zero mean, unit std."""
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    f = np.sqrt(fx * fx + fy * fy)
    f[0, 0] = 1.0
    spectrum = (rng.normal(size=f.shape) + 1j * rng.normal(size=f.shape)) / f**exponent
    spectrum[0, 0] = 0.0
    img = np.fft.irfft2(spectrum, s=(h, w)).astype(np.float32)
    return img / (img.std() + 1e-6)


def dead_leaves(rng: np.random.Generator, h: int, w: int, max_leaves: int = 40000) -> np.ndarray:
    """(h, w, 3) float32 RGB dead-leaves scene: discs with radius ~ r^-3 density, shaded with 1/f noise.

    Leaves are dropped front to back (each only paints what is still uncovered) until the scene is
    covered, which is the exact dead-leaves model without painting hidden leaves.
    """
    img = np.zeros((h, w, 3), np.float32)
    covered = np.zeros((h, w), bool)
    shade = pink_noise(rng, h, w)
    yy, xx = np.mgrid[0:h, 0:w]
    r_min, r_max = 6.0, min(h, w) / 2
    for i in range(max_leaves):
        # Inverse-CDF sample of p(r) ~ r^-3 on [r_min, r_max].
        u = rng.uniform()
        r = 1.0 / np.sqrt((1 - u) / r_min**2 + u / r_max**2)
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        y0, y1 = int(max(cy - r, 0)), int(min(cy + r + 1, h))
        x0, x1 = int(max(cx - r, 0)), int(min(cx + r + 1, w))
        if y0 >= y1 or x0 >= x1:
            continue
        disc = (yy[y0:y1, x0:x1] - cy) ** 2 + (xx[y0:y1, x0:x1] - cx) ** 2 <= r * r
        paint = disc & ~covered[y0:y1, x0:x1]
        if not paint.any():
            continue
        # Natural colours are mostly desaturated: a grey level plus a small tint.
        colour = (rng.uniform(25, 225) + rng.normal(0, 18, 3)).astype(np.float32)
        patch = colour + rng.uniform(5, 30) * shade[y0:y1, x0:x1, None]
        img[y0:y1, x0:x1][paint] = patch[paint]
        covered[y0:y1, x0:x1] |= paint
        if i % 500 == 0 and covered.all():
            break
    img[~covered] = img[covered].mean(axis=0) if covered.any() else 128.0
    # Smooth illumination over the whole scene, and a camera's optical blur.
    img *= (1.0 + 0.15 * pink_noise(rng, h, w, exponent=1.5))[..., None]
    return soften(img)


def soften(img: np.ndarray, passes: int = 2) -> np.ndarray:
    """Separable [1, 4, 6, 4, 1] / 16 blur, ``passes`` times (edge-replicated)."""
    k = np.array([1, 4, 6, 4, 1], np.float32) / 16
    for _ in range(passes):
        for axis in (0, 1):
            pad = [(2, 2) if a == axis else (0, 0) for a in range(img.ndim)]
            padded = np.pad(img, pad, mode="edge")
            n = img.shape[axis]
            img = sum(k[i] * np.take(padded, np.arange(i, i + n), axis=axis) for i in range(5))
    return img.astype(np.float32)


def bilinear(img: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Sample ``img`` (H, W, C) at float coordinates (edge-clamped)."""
    h, w = img.shape[:2]
    ys = np.clip(ys, 0, h - 1.001)
    xs = np.clip(xs, 0, w - 1.001)
    y0, x0 = ys.astype(np.int32), xs.astype(np.int32)
    fy, fx = (ys - y0)[..., None], (xs - x0)[..., None]
    top = img[y0, x0] * (1 - fx) + img[y0, x0 + 1] * fx
    bottom = img[y0 + 1, x0] * (1 - fx) + img[y0 + 1, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy


def render(frames: int, width: int = 340, height: int = 256, seed: int = 0) -> np.ndarray:
    """(frames, height, width, 3) uint8 RGB frames of the moving dead-leaves scene."""
    rng = np.random.default_rng(seed)
    big_h, big_w = height * 3, width * 3
    scene = dead_leaves(rng, big_h, big_w)
    # Smooth camera path: integrated random velocity (pixels/frame), slow zoom oscillation.
    velocity = np.cumsum(rng.normal(0, 0.15, (frames, 2)), axis=0) + rng.uniform(-1.5, 1.5, 2)
    velocity = np.clip(velocity, -3.0, 3.0)
    position = np.cumsum(velocity, axis=0) + [big_h / 2 - height / 2, big_w / 2 - width / 2]
    zoom = 1.0 + 0.08 * np.sin(np.linspace(0, 2 * np.pi * rng.uniform(0.3, 1.0), frames))
    sprites = []
    for _ in range(4):
        r = rng.uniform(18, 45)
        size = int(2 * r) + 1
        yy, xx = np.mgrid[0:size, 0:size] - r
        sprites.append(
            dict(
                tex=dead_leaves(rng, size, size),
                mask=(yy**2 + xx**2 <= r * r),
                y=rng.uniform(0, height - size),
                x=rng.uniform(0, width - size),
                vy=rng.uniform(-1.8, 1.8),
                vx=rng.uniform(-2.6, 2.6),
            )
        )
    gy, gx = np.mgrid[0:height, 0:width].astype(np.float32)
    out = np.empty((frames, height, width, 3), np.uint8)
    for t in range(frames):
        cy, cx = height / 2, width / 2
        ys = position[t, 0] % (big_h - height * 1.2) + cy + (gy - cy) / zoom[t]
        xs = position[t, 1] % (big_w - width * 1.2) + cx + (gx - cx) / zoom[t]
        img = bilinear(scene, ys, xs)
        for s in sprites:
            size = s["mask"].shape[0]
            # Bounce inside the frame.
            for axis, limit in (("y", height - size), ("x", width - size)):
                s[axis] += s["v" + axis]
                if not 0 <= s[axis] <= limit:
                    s["v" + axis] = -s["v" + axis]
                    s[axis] = min(max(s[axis], 0), limit)
            y0, x0 = int(s["y"]), int(s["x"])
            region = img[y0 : y0 + size, x0 : x0 + size]
            region[s["mask"]] = s["tex"][s["mask"]]
        img *= 1.0 + 0.1 * np.sin(t / 40.0)
        img += rng.normal(0, 1.5, img.shape)
        out[t] = np.clip(img, 0, 255).astype(np.uint8)
    return out


def make_coviar_clip(path: str | Path, frames: int = 300, seed: int = 0, asp: bool = False) -> Path:
    """Render and encode the clip in CoViAR's format (340x256, q 1, GOP 12, no B-frames, raw m4v).

    With ``asp``, the same content as an Advanced Simple Profile stream instead: two B-frames
    between references and quarter-pel motion, as XviD/DivX files of UCF-101 and HMDB-51 use.
    """
    path = Path(path)
    images = render(frames, seed=seed)
    with av.open(str(path), "w", format="m4v") as out:
        stream = out.add_stream("mpeg4", rate=Fraction(25, 1))
        stream.width, stream.height = images.shape[2], images.shape[1]
        stream.pix_fmt = "yuv420p"
        cc = stream.codec_context
        cc.gop_size = 12
        cc.max_b_frames = 2 if asp else 0
        # qmin = qmax = 1 is `-q:v 1` (PyAV's codec_context.qscale alone does not fix the quantiser);
        # a huge sc_threshold keeps the GOP fixed, as CoViAR's re-encode.
        options = {"qmin": "1", "qmax": "1", "sc_threshold": "1000000000"}
        if asp:
            options["flags"] = "+qpel"
        stream.options = options
        for img in images:
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def make_xvid_packed_clip(path: str | Path, frames: int = 300, seed: int = 0) -> Path | str:
    """The same content as an XviD AVI with packed B-frames over several GOPs, the way datasets
    such as UCF-101 ship: Debian's ``ffmpeg`` command (built with libxvid), ``-c:v libxvid -vtag
    XVID -bf 2 -g 50 -q:v 4``. Returns the path, or why it cannot be written (a string)."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return "no ffmpeg command (Debian's ffmpeg has libxvid: apt-get install ffmpeg)"
    encoders = subprocess.run([ffmpeg, "-hide_banner", "-encoders"], capture_output=True, text=True).stdout
    if "libxvid" not in encoders:
        return f"{ffmpeg} has no libxvid encoder"
    images = render(frames, seed=seed)
    height, width = images.shape[1:3]
    command = [
        ffmpeg, "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}",
        "-r", "25", "-i", "-", "-an", "-c:v", "libxvid", "-vtag", "XVID", "-bf", "2", "-g", "50",
        "-q:v", "4", str(path),
    ]
    done = subprocess.run(command, input=images.tobytes(), capture_output=True)
    if done.returncode != 0:
        return f"{ffmpeg} failed: {done.stderr.decode(errors='replace').strip()[-300:]}"
    return Path(path)
