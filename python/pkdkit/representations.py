"""Batch loading, extraction and pictures of CoViAR's representations.

:func:`load_batch` is what data loaders call: many (file, GOP, position) samples decoded in
parallel by the Rust core with the GIL released, stacked into one array. :func:`extract` and
:func:`show` back the ``pkdkit extract`` and ``pkdkit show`` commands.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence, Union, overload

import numpy as np

from ._representations import check_representation
from .errors import UnsupportedCodecError

__all__ = ["load_batch", "extract", "flow_to_rgb", "show"]

PathLike = Union[str, "os.PathLike[str]"]
_COVIAR_CODES = {0: "iframe", 1: "mv", 2: "residual"}

# Which backend reads each file, keyed by (path, size, mtime): decided once per file and process,
# so later batches send native files straight to the Rust batch without opening them here.
_NATIVE: dict[tuple[str, int, int], bool] = {}
_NATIVE_LIMIT = 1 << 17


def _representation_name(representation: str | int) -> str:
    if isinstance(representation, (int, np.integer)) and not isinstance(representation, bool):
        if int(representation) in _COVIAR_CODES:
            return _COVIAR_CODES[int(representation)]
    if representation == "dct":
        return "dct"
    return check_representation(representation)  # type: ignore[arg-type]


def _split_by_backend(files: list[str]) -> dict[str, Any]:
    """The files (of ``files``, distinct) that pkdkit's decoder does not read, opened with
    :func:`pkdkit.open` (FFmpeg); every other file is read by the Rust batch."""
    from .video import open as open_video

    others: dict[str, Any] = {}
    for path in dict.fromkeys(files):
        st = os.stat(path)  # FileNotFoundError names the path
        key = (path, st.st_size, st.st_mtime_ns)
        if _NATIVE.get(key) is True:
            continue
        video = open_video(path)
        if len(_NATIVE) >= _NATIVE_LIMIT:
            _NATIVE.clear()
        _NATIVE[key] = video.backend == "native"
        if video.backend != "native":
            others[path] = video
    return others


@overload
def load_batch(
    paths: Sequence[PathLike],
    gops: Sequence[int],
    positions: Sequence[int],
    representation: str | int,
    *,
    accumulate: bool = True,
    threads: int | None = None,
    bgr: bool = False,
) -> np.ndarray: ...


@overload
def load_batch(
    paths: Sequence[PathLike],
    gops: Sequence[int],
    positions: Sequence[int],
    representation: tuple[str | int, ...] | list[str | int],
    *,
    accumulate: bool = True,
    threads: int | None = None,
    bgr: bool = False,
) -> tuple[np.ndarray, ...]: ...


def load_batch(
    paths: Sequence[PathLike],
    gops: Sequence[int],
    positions: Sequence[int],
    representation: str | int | tuple[str | int, ...] | list[str | int],
    *,
    accumulate: bool = True,
    threads: int | None = None,
    bgr: bool = False,
) -> np.ndarray | tuple[np.ndarray, ...]:
    """Decode many samples in parallel and stack them.

    Sample ``i`` is position ``positions[i]`` of GOP ``gops[i]`` of ``paths[i]`` (the position is
    ignored for I-frames). The samples pkdkit's decoder reads go to the Rust core together, on a
    pool of ``threads`` threads with the GIL released, whatever else is in the batch; each
    distinct file is read and indexed once per call. Samples of files FFmpeg reads (other
    codecs, see :func:`pkdkit.open`) are decoded one at a time through PyAV.

    Several representations at once (``("iframe", "mv", "residual")``) decode each (file, GOP,
    position) of pkdkit's decoder once for all of them and give one array per name, in that
    order; they equal the one-representation calls exactly. Requests of I-frames alone decode
    only the I-VOP; of motion vectors alone, the decoder's vectors-only mode.

    In forked ``DataLoader`` workers pass ``threads=1`` (or a small number): each call makes its
    own thread pool, so forking is safe, but ``workers x threads`` should not exceed the cores.

    Args:
        paths: video files.
        gops: GOP index per sample.
        positions: position in the GOP per sample (0 = the I-frame).
        representation: ``"iframe"``, ``"mv"`` or ``"residual"`` (or CoViAR's 0, 1, 2), or
            ``"dct"``: the frame's DCT coefficients (pkdkit's decoder only, see :mod:`pkdkit.dct`);
            or a tuple or list of distinct such names (``"dct"`` in it is decoded on its own).
        accumulate: trace back to the I-frame (CoViAR's default).
        threads: worker threads; ``None`` = all available cores, ``1`` = the calling thread.
        bgr: BGR channel order for I-frames and residuals (CoViAR's) instead of RGB.

    Returns:
        ``(N, H, W, 3)`` uint8 I-frames, ``(N, H, W, 2)`` int32 motion vectors,
        ``(N, H, W, 3)`` int16 residuals, or for ``"dct"`` ``(N, rows, cols, 192)`` int16 on the
        8x8 block grid of the macroblock-aligned picture: per luma block its 64 Y coefficients,
        then the 64 of the Cb and the 64 of the Cr block covering it (each chroma block repeated
        over its 2x2 luma blocks; natural order, index ``8 * v + u``). For a tuple or list of
        names, a tuple of those arrays in the same order.

    Raises:
        ValueError: sequences of different lengths, an empty batch, a bad, repeated or empty
            list of representations, a bad thread count, or samples of different frame sizes.
        VideoIndexError: a GOP or position out of range (the message names the file).
        UnsupportedCodecError: ``"dct"`` for a file FFmpeg reads (it exports no coefficients).
    """
    several = isinstance(representation, (tuple, list))
    requested = list(representation) if several else [representation]  # type: ignore[arg-type]
    names = tuple(_representation_name(r) for r in requested)
    if not names:
        raise ValueError("load_batch needs at least one representation")
    if len(set(names)) != len(names):
        raise ValueError(f"each representation may be asked for once, got {names}")
    n = len(paths)
    if len(gops) != n or len(positions) != n:
        raise ValueError(f"paths, gops and positions must have the same length, got {n}, {len(gops)}, {len(positions)}")
    if n == 0:
        raise ValueError("load_batch needs at least one sample")
    if threads is not None and int(threads) < 1:
        raise ValueError(f"threads must be None or >= 1, got {threads}")
    files = [os.fspath(p) for p in paths]
    gops, positions = [int(g) for g in gops], [int(p) for p in positions]
    others = _split_by_backend(files)
    pool = 0 if threads is None else int(threads)
    arrays: dict[str, np.ndarray] = {}
    if "dct" in names:
        arrays["dct"] = _load_dct(files, gops, positions, others, pool)
    reps = tuple(name for name in names if name != "dct")
    if reps:
        arrays.update(zip(reps, _load_representations(files, gops, positions, reps, others, accumulate, pool, bgr)))
    out = tuple(arrays[name] for name in names)
    return out if several else out[0]


def _load_dct(
    files: list[str], gops: list[int], positions: list[int], others: dict[str, Any], threads: int
) -> np.ndarray:
    for path, video in others.items():
        raise UnsupportedCodecError(
            f"{path}: DCT coefficients come from pkdkit's own MPEG-4 Part 2 decoder; this file is "
            f"read by FFmpeg ({video.codec}), which exports no coefficients"
        )
    from . import _core

    return _core.dct_batch(files, gops, positions, threads=threads)


def _load_representations(
    files: list[str],
    gops: list[int],
    positions: list[int],
    names: tuple[str, ...],
    others: dict[str, Any],
    accumulate: bool,
    threads: int,
    bgr: bool,
) -> tuple[np.ndarray, ...]:
    """One stacked array per name: pkdkit's samples in one Rust call (one decode per sample for
    all names), FFmpeg's one representation at a time."""
    n = len(files)
    native = [i for i, path in enumerate(files) if path not in others]
    parts: dict[int, tuple[np.ndarray, ...]] = {}
    if native:
        # The one native path: every sample pkdkit decodes, in parallel, GIL released.
        from . import _core

        args = ([files[i] for i in native], [gops[i] for i in native], [positions[i] for i in native])
        options = {"accumulate": bool(accumulate), "bgr": bool(bgr), "threads": threads}
        if len(names) == 1:
            stacked: tuple[np.ndarray, ...] = (_core.load_batch(*args, names[0], **options),)
        else:
            stacked = _core.load_batches(*args, list(names), **options)
        if len(native) == n:
            return tuple(stacked)
        parts.update(zip(native, zip(*stacked)))
    for i, path in enumerate(files):
        if path in others:
            video = others[path]
            parts[i] = tuple(
                video.represent(gops[i], positions[i], name, accumulate=accumulate, bgr=bgr) for name in names
            )
    first = min(parts)
    for i in sorted(parts):
        if parts[i][0].shape != parts[first][0].shape:
            (h, w), (h0, w0) = parts[i][0].shape[:2], parts[first][0].shape[:2]
            raise ValueError(
                f"{files[i]}: frame size {w}x{h} differs from {files[first]}'s {w0}x{h0}; a batch needs one size"
            )
    return tuple(np.stack([parts[i][k] for i in range(n)]) for k in range(len(names)))


def extract(
    path: PathLike, gop: int, pos: int, representation: str, *, accumulate: bool = True, bgr: bool = False
) -> np.ndarray:
    """One representation of one frame (what ``pkdkit extract`` saves).

    Returns:
        ``(H, W, 3)`` uint8 I-frame, ``(H, W, 2)`` int32 motion vectors or ``(H, W, 3)`` int16
        residual; see :class:`pkdkit.CompressedVideo`.
    """
    from .video import open as open_video

    name = check_representation(representation)
    return open_video(path).represent(gop, pos, name, accumulate=accumulate, bgr=bgr)


def flow_to_rgb(mv: np.ndarray, max_magnitude: float | None = None) -> np.ndarray:
    """Colour-code motion vectors on the usual flow colour wheel.

    Hue is the direction of ``(dx, dy)``, saturation the length relative to ``max_magnitude``
    (default: the longest vector), value 1; zero motion is white.

    Args:
        mv: ``(H, W, 2)`` displacements.
        max_magnitude: length that gets full saturation.

    Returns:
        ``(H, W, 3)`` uint8 RGB.
    """
    dx, dy = mv[..., 0].astype(np.float64), mv[..., 1].astype(np.float64)
    magnitude = np.hypot(dx, dy)
    scale = float(max_magnitude) if max_magnitude else float(magnitude.max(initial=0.0))
    saturation = np.clip(magnitude / scale, 0.0, 1.0) if scale > 0 else np.zeros_like(magnitude)
    hue = (np.arctan2(-dy, -dx) / (2 * np.pi) + 0.5) * 6.0  # 0..6 around the wheel
    sector = np.floor(hue).astype(int) % 6
    frac = hue - np.floor(hue)
    # HSV -> RGB with V = 1: p = 1 - s, q = 1 - s * f, t = 1 - s * (1 - f).
    p, q, t = 1 - saturation, 1 - saturation * frac, 1 - saturation * (1 - frac)
    one = np.ones_like(saturation)
    table = [(one, t, p), (q, one, p), (p, one, t), (p, q, one), (t, p, one), (one, p, q)]
    rgb = np.zeros(mv.shape[:2] + (3,))
    for k, channels in enumerate(table):
        mask = sector == k
        for c in range(3):
            rgb[..., c][mask] = channels[c][mask]
    return np.round(rgb * 255).astype(np.uint8)


def show(path: PathLike, gop: int, pos: int, out: PathLike, *, accumulate: bool = True) -> Path:
    """Draw the I-frame, the motion vectors (flow colours) and the residual side by side to a PNG.

    Returns:
        The written path.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .video import open as open_video

    video = open_video(path)
    iframe = video.iframe(gop)
    mv = video.motion_vectors(gop, pos, accumulate=accumulate)
    residual = video.residual(gop, pos, accumulate=accumulate)
    kind = "accumulated" if accumulate else "frame's own"
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), constrained_layout=True)
    longest = float(np.hypot(mv[..., 0], mv[..., 1]).max(initial=0.0))
    panels = [
        (iframe, f"I-frame of GOP {gop}"),
        (flow_to_rgb(mv), f"{kind} motion vectors, pos {pos} (max {longest:.0f} px)"),
        (np.clip(residual.astype(np.int32) + 128, 0, 255).astype(np.uint8), f"{kind} residual + 128, pos {pos}"),
    ]
    for ax, (image, title) in zip(axes, panels):
        ax.imshow(image)
        ax.set_title(title)
        ax.axis("off")
    fig.suptitle(Path(path).name)
    out = Path(out)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out

