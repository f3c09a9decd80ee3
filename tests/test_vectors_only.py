"""Motion vectors without reconstruction: ``motion_vectors()``, ``load_batch(..., "mv")`` and
``pkdkit.coviar.load(..., 1, ...)`` decode only what the vectors need (no IDCT, motion
compensation or concealment), and must give exactly the vectors of a full decode (``decode_gop``,
which reconstructs every picture) on every clip of the decoder tests, SP and ASP alike."""

from __future__ import annotations

import numpy as np
import pytest
from test_asp import CONFIGS as ASP_CONFIGS
from test_decoder import CONFIGS as SP_CONFIGS

import pkdkit
import pkdkit.coviar

from clips import make_clip

CLIPS = {**{f"sp_{k}": v for k, v in SP_CONFIGS.items()}, **{f"asp_{k}": v for k, v in ASP_CONFIGS.items()}}


@pytest.mark.parametrize("name", sorted(CLIPS))
def test_vectors_only_equal_the_full_decode(tmp_path, name):
    spec = CLIPS[name]
    path = make_clip(tmp_path / spec.filename(), spec)
    video = pkdkit.open(path)
    assert video.num_gops > 0
    checked = 0
    for accumulate in (True, False):
        gops, positions, expected = [], [], []
        for gop in range(video.num_gops):
            full = video.decode_gop(gop, accumulate=accumulate)["motion_vectors"]
            for pos in range(full.shape[0]):
                mine = video.motion_vectors(gop, pos, accumulate=accumulate)
                np.testing.assert_array_equal(mine, full[pos], err_msg=f"{name} gop {gop} pos {pos}")
                gops.append(gop)
                positions.append(pos)
                expected.append(full[pos])
        batch = pkdkit.load_batch([path] * len(gops), gops, positions, "mv", accumulate=accumulate, threads=1)
        np.testing.assert_array_equal(batch, np.stack(expected), err_msg=name)
        checked += len(gops)
    # The drop-in loader (CoViAR's signature) reads the same vectors.
    g, p = gops[-1], positions[-1]
    np.testing.assert_array_equal(pkdkit.coviar.load(path, g, p, 1, False), expected[-1])
    # Clips with P-frames move: some vector is non-zero, so equality is not trivially zeros.
    assert checked > 0
    if max(video.gop_lengths) > 1:
        assert any(np.any(e) for e in expected), name
