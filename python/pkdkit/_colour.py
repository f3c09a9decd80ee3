"""The one YUV -> RGB conversion of pkdkit (BT.601 limited range, integer arithmetic)."""

from __future__ import annotations

import numpy as np

from . import _core


def yuv_to_rgb(y: np.ndarray, u: np.ndarray, v: np.ndarray, bgr: bool = False) -> np.ndarray:
    """Convert a 4:2:0 picture to packed 8-bit RGB (or BGR), exactly as everywhere in pkdkit.

    BT.601 limited range (Y 16..235, Cb/Cr 16..240); each chroma sample covers its 2x2 luma
    block (``U[y // 2, x // 2]``). With int32 arithmetic and flooring ``>>``::

        c = 76309 * (Y - 16) + 32768
        R = clip((c + 104597 * (V - 128)) >> 16, 0, 255)
        G = clip((c - 25675 * (U - 128) - 53279 * (V - 128)) >> 16, 0, 255)
        B = clip((c + 132201 * (U - 128)) >> 16, 0, 255)

    The coefficients are ``65536 * 255/219`` and ``65536 * 255/224 * k`` (k from Kr = 0.299,
    Kb = 0.114), rounded to integers. The result is within 2 levels of FFmpeg's (swscale's)
    yuv420p -> rgb24 conversion.

    Args:
        y: Luma plane, ``(H, W)`` uint8.
        u: Cb plane, ``(ceil(H/2), ceil(W/2))`` uint8.
        v: Cr plane, same shape as ``u``.
        bgr: Return channels in B, G, R order (OpenCV / CoViAR) instead of R, G, B.

    Returns:
        ``(H, W, 3)`` uint8 array, newly allocated (owned by numpy, not a copy of a buffer).

    Raises:
        TypeError: A plane is not a 2-D uint8 array.
        ValueError: The plane shapes do not form a 4:2:0 picture.
    """
    planes = {"y": y, "u": u, "v": v}
    for name, plane in planes.items():
        if not isinstance(plane, np.ndarray) or plane.dtype != np.uint8 or plane.ndim != 2:
            if isinstance(plane, np.ndarray):
                got = f"{plane.dtype} array of shape {plane.shape}"
            else:
                got = type(plane).__name__
            raise TypeError(f"yuv_to_rgb: {name} must be a 2-D uint8 numpy array, got {got}")
    return _core.yuv_to_rgb(y, u, v, bool(bgr))
