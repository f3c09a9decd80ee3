"""pkdkit's decoder against FFmpeg's, frame by frame: the check the decoder tests share."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import pkdkit

from clips import ffmpeg_frames

PICT_TYPES = {1: "I", 2: "P", 3: "B", 4: "S"}
MV_FIELDS = ("source", "w", "h", "src_x", "src_y", "dst_x", "dst_y", "motion_x", "motion_y", "motion_scale")


def planes_of(frame) -> list[np.ndarray]:
    """Y, U, V of a PyAV yuv420p frame without the line padding."""
    out = []
    for plane in frame.planes:
        rows = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
        out.append(rows[:, : plane.width])
    return out


def ffmpeg_vectors(frame) -> np.ndarray | None:
    side = frame.side_data.get("MOTION_VECTORS")
    return None if side is None else side.to_ndarray()


def assert_same_as_ffmpeg(path: Path) -> str:
    """Decode ``path`` with pkdkit's own decoder (no FFmpeg fallback) and with FFmpeg, and compare
    the frame count, the frame types and every sample and vector field.

    Returns:
        The frame types in display order (one letter per frame, e.g. ``"IBBP..."``).
    """
    ours = list(pkdkit.open(path, backend="native").frames())
    theirs = ffmpeg_frames(path, export_mvs=True)
    assert len(ours) == len(theirs)
    for k, (a, b) in enumerate(zip(ours, theirs)):
        assert a.index == k
        assert a.frame_type == PICT_TYPES[int(b.pict_type)], f"frame {k}"
        assert not a.damaged
        for name, got, want in zip("YUV", a.yuv, planes_of(b)):
            assert got.shape == want.shape, f"frame {k} {name}"
            if not np.array_equal(got, want):
                bad = np.argwhere(got != want)
                raise AssertionError(f"frame {k} ({a.frame_type}) {name}: {len(bad)} samples differ, first at {bad[0]}")
        want_mvs = ffmpeg_vectors(b)
        got_mvs = a.motion_vectors
        if want_mvs is None:
            assert len(got_mvs) == 0, f"frame {k}: FFmpeg exports no vectors"
            continue
        assert len(got_mvs) == len(want_mvs), f"frame {k}: vector count"
        for field in MV_FIELDS:
            assert np.array_equal(got_mvs[field], want_mvs[field]), f"frame {k} ({a.frame_type}): field {field}"
    return "".join(f.frame_type for f in ours)
