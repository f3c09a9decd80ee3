"""Real B-frame motion (``frames(b_motion="real")``) against the pixels.

FFmpeg exports zero motion for MPEG-4 B-frames; pkdkit can export the vectors B-frames are
really predicted with. The oracle here is independent of pkdkit: FFmpeg decoding with
``skip_idct=noref`` outputs B-frames without their residual, i.e. exactly the motion-compensated
prediction (its I/P-frames, the references, stay fully decoded). A numpy motion compensation from
FFmpeg's decoded reference frames and pkdkit's exported vectors must reproduce that prediction
sample for sample, in every plane of every B-frame.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import pkdkit

import coviar_reference
from b_prediction import predict_b_frame, predict_direction, predictions_from_ffmpeg, references
from clips import ClipSpec, ffmpeg_frames, make_clip
from ffmpeg_oracle import MV_FIELDS, planes_of


def kinds_of(vectors: np.ndarray, w: int) -> set[str]:
    """Which prediction kinds the macroblocks of one B-frame's entries show."""
    mb_of = (vectors["dst_x"] // 16).astype(int) + (w // 16) * (vectors["dst_y"] // 16).astype(int)
    kinds = set()
    for mb in set(mb_of.tolist()):
        mine = vectors[mb_of == mb]
        directions = tuple(sorted(set(mine["source"].tolist())))
        kinds.add({(-1,): "forward", (1,): "backward", (-1, 1): "bidirectional"}[directions])
        if (mine["w"] == 8).any():
            kinds.add("direct 8x8")
    return kinds


@pytest.fixture(scope="module")
def halfpel_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # mv4 in the P-frames gives direct-mode macroblocks four vectors.
    return make_clip(tmp_path_factory.mktemp("bm") / "hp.m4v", ClipSpec(frames=16, bf=2, flags=("mv4",)))


def test_real_b_vectors_reproduce_the_prediction(halfpel_clip: Path) -> None:
    ours = list(pkdkit.open(halfpel_clip).frames(b_motion="real"))
    predicted = predictions_from_ffmpeg(halfpel_clip)
    decoded = [planes_of(f) for f in ffmpeg_frames(halfpel_clip)]
    types = "".join(f.frame_type for f in ours)
    assert types == "".join(t for t, _ in predicted) and types.count("B") >= 8
    kinds, moving = set(), 0
    for k, frame in enumerate(ours):
        if frame.frame_type != "B":
            continue
        past, future = references(types, k)
        got = predict_b_frame(frame.motion_vectors, decoded[past], decoded[future])
        for name, a, b in zip("YUV", got, predicted[k][1]):
            bad = np.argwhere(a != b)
            assert bad.size == 0, f"frame {k} plane {name}: prediction differs at {bad[:3].tolist()}"
        kinds |= kinds_of(frame.motion_vectors, frame.yuv[0].shape[1])
        moving += int(((frame.motion_vectors["motion_x"] != 0) | (frame.motion_vectors["motion_y"] != 0)).sum())
    assert kinds == {"forward", "backward", "bidirectional", "direct 8x8"}
    assert moving > 100


def test_ffmpeg_export_does_not_reproduce_the_prediction(halfpel_clip: Path) -> None:
    """The default (FFmpeg's zero motion) fails the same check: the check sees the vectors."""
    ours = list(pkdkit.open(halfpel_clip).frames())
    predicted = predictions_from_ffmpeg(halfpel_clip)
    decoded = [planes_of(f) for f in ffmpeg_frames(halfpel_clip)]
    types = "".join(f.frame_type for f in ours)
    k = types.index("B")
    assert not (ours[k].motion_vectors["motion_x"] != 0).any()
    past, future = references(types, k)
    got = predict_b_frame(ours[k].motion_vectors, decoded[past], decoded[future])
    assert (got[0] != predicted[k][1][0]).any()


def test_real_mode_changes_only_b_frame_motion(halfpel_clip: Path) -> None:
    """Pictures and I/P vectors are the same in both modes; B-frame entries keep FFmpeg's
    layout (half-sample clip: direct MBs have four entries exactly when FFmpeg's have)."""
    video = pkdkit.open(halfpel_clip)
    for a, b in zip(video.frames(), video.frames(b_motion="real"), strict=True):
        assert a.frame_type == b.frame_type
        for pa, pb in zip(a.yuv, b.yuv):
            np.testing.assert_array_equal(pa, pb)
        same = ["source", "w", "h", "dst_x", "dst_y", "motion_scale"]
        if a.frame_type != "B":
            same = list(a.motion_vectors.dtype.names)
        for field in same:
            np.testing.assert_array_equal(a.motion_vectors[field], b.motion_vectors[field], err_msg=field)
        mv = b.motion_vectors
        np.testing.assert_array_equal(mv["src_x"], mv["dst_x"] + np.trunc(mv["motion_x"] / 2).astype(int))
        np.testing.assert_array_equal(mv["src_y"], mv["dst_y"] + np.trunc(mv["motion_y"] / 2).astype(int))


def test_quarter_sample_clip_full_sample_vectors_copy_the_reference(tmp_path: Path) -> None:
    """Quarter-sample clip: entries have motion_scale 4, direct MBs four 8x8 entries per
    direction; where every vector of a macroblock is a whole sample, its luma prediction is a
    plain copy (or the rounded average of two) from the references."""
    path = make_clip(tmp_path / "qp.m4v", ClipSpec(frames=16, bf=2, flags=("qpel",), options={"mpeg_quant": "1"}))
    ours = list(pkdkit.open(path).frames(b_motion="real"))
    predicted = predictions_from_ffmpeg(path)
    decoded = [planes_of(f) for f in ffmpeg_frames(path)]
    types = "".join(f.frame_type for f in ours)
    checked = moving = fractional = 0
    kinds = set()
    for k, frame in enumerate(ours):
        if frame.frame_type != "B":
            continue
        mv = frame.motion_vectors
        assert (mv["motion_scale"] == 4).all()
        kinds |= kinds_of(mv, frame.yuv[0].shape[1])
        past, future = references(types, k)
        mb_of = (mv["dst_x"] // 16).astype(int) + 1000 * (mv["dst_y"] // 16).astype(int)
        for mb in set(mb_of.tolist()):
            mine = mv[mb_of == mb]
            if ((mine["motion_x"] % 4) | (mine["motion_y"] % 4)).any():
                fractional += 1
                continue
            # Whole-sample vectors: in half samples they are motion / 2, a plain copy.
            halved = mine.copy()
            halved["motion_x"] //= 2
            halved["motion_y"] //= 2
            mb_x, mb_y = mb % 1000, mb // 1000
            fwd, bwd = halved[halved["source"] == -1], halved[halved["source"] == 1]
            preds = [predict_direction(decoded[past], fwd, mb_x, mb_y)[0]] if len(fwd) else []
            preds += [predict_direction(decoded[future], bwd, mb_x, mb_y)[0]] if len(bwd) else []
            pred = preds[0] if len(preds) == 1 else (preds[0] + preds[1] + 1) >> 1
            want = predicted[k][1][0][mb_y * 16 : mb_y * 16 + 16, mb_x * 16 : mb_x * 16 + 16]
            np.testing.assert_array_equal(pred, want, err_msg=f"frame {k} macroblock {mb_x},{mb_y}")
            checked += 1
            moving += int((mine["motion_x"] != 0).any() or (mine["motion_y"] != 0).any())
    assert "direct 8x8" in kinds
    assert checked >= 20 and moving >= 5 and fractional >= 20, (checked, moving, fractional)


def test_b_motion_is_checked(halfpel_clip: Path) -> None:
    with pytest.raises(ValueError, match="b_motion must be 'ffmpeg' or 'real'"):
        pkdkit.open(halfpel_clip).frames(b_motion="zero")


@pytest.mark.parametrize("accumulate", [True, False])
def test_gop_representations_with_real_b_motion_match_numpy(halfpel_clip: Path, accumulate: bool) -> None:
    """``decode_gop(b_motion="real")`` equals the numpy reference of the representation rules
    (``coviar_reference``) fed the same frames and real vectors; I/P positions equal the default,
    B positions move."""
    video = pkdkit.open(halfpel_clip)
    frames = list(video.frames(b_motion="real"))
    moved = 0
    for g in range(video.num_gops):
        start, length = video.gop_starts[g], video.gop_lengths[g]
        mine = frames[start : start + length]
        ref = coviar_reference.Gop(
            types="".join(f.frame_type for f in mine),
            planes=[f.yuv for f in mine],
            vectors=[np.stack([f.motion_vectors[n].astype(np.int32) for n in MV_FIELDS], axis=1) for f in mine],
        )
        real = video.decode_gop(g, accumulate=accumulate, b_motion="real")
        default = video.decode_gop(g, accumulate=accumulate)
        np.testing.assert_array_equal(real["iframe"], default["iframe"])
        for pos in range(length):
            want_mv = coviar_reference.motion_vectors(ref, pos, accumulate)
            want_res = coviar_reference.residual(ref, pos, pkdkit.yuv_to_rgb, accumulate)
            np.testing.assert_array_equal(real["motion_vectors"][pos], want_mv, err_msg=f"gop {g} pos {pos}")
            np.testing.assert_array_equal(real["residuals"][pos], want_res, err_msg=f"gop {g} pos {pos}")
            if ref.types[pos] != "B":
                np.testing.assert_array_equal(real["motion_vectors"][pos], default["motion_vectors"][pos])
                np.testing.assert_array_equal(real["residuals"][pos], default["residuals"][pos])
            else:
                moved += int((real["motion_vectors"][pos] != default["motion_vectors"][pos]).any())
    assert moved == "".join(f.frame_type for f in frames).count("B")


def test_real_b_motion_representations_need_the_native_decoder(halfpel_clip: Path) -> None:
    video = pkdkit.open(halfpel_clip, backend="ffmpeg")
    with pytest.raises(ValueError, match="needs pkdkit's decoder"):
        video.decode_gop(0, b_motion="real")
    with pytest.raises(ValueError, match="needs pkdkit's decoder"):
        next(iter(video.frames(b_motion="real")))


def test_interlaced_b_frames_keep_the_layout_in_real_mode() -> None:
    """Interlaced B-frames (field MBs: two 16x8 entries): both modes give the same pictures and
    entries apart from the motion, and the real mode moves some of the field entries."""
    video = pkdkit.open(Path(__file__).parent / "data" / "interlaced_bf2.avi")
    field_moving = 0
    for a, b in zip(video.frames(), video.frames(b_motion="real"), strict=True):
        for pa, pb in zip(a.yuv, b.yuv):
            np.testing.assert_array_equal(pa, pb)
        for name in ("source", "w", "h", "dst_x", "dst_y", "motion_scale"):
            np.testing.assert_array_equal(a.motion_vectors[name], b.motion_vectors[name], err_msg=name)
        if a.frame_type == "B":
            mv = b.motion_vectors
            moving = (mv["motion_x"] != 0) | (mv["motion_y"] != 0)
            field_moving += int(((mv["h"] == 8) & (mv["w"] == 16) & moving).sum())
    assert field_moving > 0
