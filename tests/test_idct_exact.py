"""Both integer IDCTs (and the half-pel MC) reproduce FFmpeg's decode sample for sample.

FFmpeg is asked for the same IDCT through its ``idct`` decoder option, so the XviD arithmetic is
checked on an FFmpeg-encoded stream too (no XviD encoder is needed).
"""

from __future__ import annotations

import av
import numpy as np
import pytest

import pkdkit

from clips import ClipSpec, make_clip


def ffmpeg_planes(path: str, idct: str) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    out = []
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "NONE"
        stream.codec_context.options = {"idct": idct}
        for frame in container.decode(stream):
            h, w = frame.height, frame.width
            sizes = [(h, w), ((h + 1) // 2, (w + 1) // 2), ((h + 1) // 2, (w + 1) // 2)]
            out.append(
                tuple(
                    np.frombuffer(p, np.uint8).reshape(ph, p.line_size)[:, :pw]
                    for p, (ph, pw) in zip(frame.planes, sizes)
                )
            )
    return out


@pytest.mark.parametrize("idct", ["simple", "xvid"])
@pytest.mark.parametrize(
    "spec",
    [
        ClipSpec(width=176, height=144, frames=8, gop=4, qscale=1),
        ClipSpec(width=90, height=70, frames=8, gop=8, qscale=3, flags=("mv4",)),
    ],
    ids=["q1", "odd-size-4mv"],
)
def test_forced_idct_matches_ffmpeg(tmp_path, spec: ClipSpec, idct: str) -> None:
    path = str(make_clip(tmp_path / "c.m4v", spec))
    want = ffmpeg_planes(path, idct)
    got = list(pkdkit.open(path).frames(idct=idct))
    assert len(got) == len(want) == spec.frames
    for k, (frame, planes) in enumerate(zip(got, want)):
        for name, ours, theirs in zip("yuv", frame.yuv, planes):
            np.testing.assert_array_equal(ours, theirs, err_msg=f"frame {k} plane {name} (idct={idct})")


def test_the_two_idcts_really_differ(tmp_path) -> None:
    # Guards the test above: if the option were ignored both runs would agree trivially.
    path = str(make_clip(tmp_path / "c.m4v", ClipSpec(width=64, height=48, frames=2, gop=2, qscale=1)))
    simple = [f.yuv[0] for f in pkdkit.open(path).frames(idct="simple")]
    xvid = [f.yuv[0] for f in pkdkit.open(path).frames(idct="xvid")]
    assert any((a != b).any() for a, b in zip(simple, xvid))
