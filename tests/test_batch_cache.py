"""``load_batch`` keeps recently opened videos between calls (a data loader asks for the same
files batch after batch); a file that changed on disk since must be read again, never served
from the cache."""

from __future__ import annotations

import os

import numpy as np

import pkdkit

from clips import ClipSpec, make_clip


def test_a_rewritten_file_is_read_again(tmp_path):
    path = tmp_path / "clip.m4v"
    make_clip(path, ClipSpec(frames=6, seed=1))
    first = pkdkit.load_batch([path, path], [0, 0], [0, 3], "mv", threads=1)
    again = pkdkit.load_batch([path], [0], [3], "mv", threads=1)
    np.testing.assert_array_equal(again[0], first[1])
    old_iframe = pkdkit.load_batch([path], [0], [0], "iframe", threads=1)[0]

    # Other content at the same path, with a different modification time.
    stat = path.stat()
    make_clip(path, ClipSpec(frames=6, seed=2))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    new_iframe = pkdkit.load_batch([path], [0], [0], "iframe", threads=1)[0]
    np.testing.assert_array_equal(new_iframe, pkdkit.open(path).iframe(0))
    assert not np.array_equal(new_iframe, old_iframe)
