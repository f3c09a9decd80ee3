"""``pkdkit.coviar``: CoViAR's loader API, dtypes, layouts and BGR order, against the oracle."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import pkdkit
from pkdkit import coviar
from pkdkit.cli import main

import coviar_reference as ref
from clips import ClipSpec, make_clip


def to_bgr(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return pkdkit.yuv_to_rgb(y, u, v, bgr=True)


@pytest.fixture(scope="module")
def coviar_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[ref.Gop]]:
    # CoViAR's own format: a raw MPEG-4 Part 2 stream named .mp4, with scene-cut GOPs.
    path = tmp_path_factory.mktemp("coviar") / "v_Test_g01_c01.mp4"
    make_clip(path, ClipSpec(frames=15, gop=300, scene_cut=True, cut_every=6, container="m4v"))
    return path, ref.ffmpeg_gops(path)


def test_counts_are_frames_and_real_gops(coviar_file: tuple[Path, list[ref.Gop]]) -> None:
    path, gops = coviar_file
    assert coviar.get_num_gops(path) == len(gops) == 3
    assert coviar.get_num_frames(str(path)) == sum(len(g.types) for g in gops) == 15


def test_load_returns_coviar_dtypes_layouts_and_values(coviar_file: tuple[Path, list[ref.Gop]]) -> None:
    path, gops = coviar_file
    for g, gop in enumerate(gops):
        iframe = coviar.load(str(path), g, 0, coviar.IFRAME, True)
        assert iframe.dtype == np.uint8 and iframe.shape == (144, 176, 3)
        assert np.array_equal(iframe, to_bgr(*gop.planes[0]))
        for pos in range(len(gop.types)):
            # CoViAR's representation 0 at a position: the decoded frame there.
            assert np.array_equal(coviar.load(path, g, pos, 0, True), to_bgr(*gop.planes[pos]))
            for accumulate in (True, False):
                mv = coviar.load(path, g, pos, 1, accumulate)
                res = coviar.load(path, g, pos, 2, int(accumulate))
                assert mv.dtype == np.int32 and mv.shape == (144, 176, 2)
                assert res.dtype == np.int32 and res.shape == (144, 176, 3)
                assert np.array_equal(mv, ref.motion_vectors(gop, pos, accumulate))
                assert np.array_equal(res, ref.residual(gop, pos, to_bgr, accumulate))


def test_load_fails_clearly(coviar_file: tuple[Path, list[ref.Gop]], tmp_path: Path) -> None:
    path, _ = coviar_file
    with pytest.raises(ValueError, match="representation must be 0"):
        coviar.load(path, 0, 0, 3, True)
    with pytest.raises(IndexError, match=r"gop 3 out of range: valid values are 0\.\.=2"):
        coviar.load(path, 3, 0, 1, True)
    with pytest.raises(IndexError, match=r"gop 2: position 3 out of range: valid values are 0\.\.=2"):
        coviar.load(path, 2, 3, 2, True)
    with pytest.raises(FileNotFoundError):
        coviar.get_num_frames(tmp_path / "missing.mp4")


# ----------------------------------------------------------------------------- the CLI


def test_extract_command_saves_the_api_result(coviar_file: tuple[Path, list[ref.Gop]], tmp_path: Path) -> None:
    path, _ = coviar_file
    video = pkdkit.open(path)
    for rep, flags, want in [
        ("mv", [], video.motion_vectors(1, 4)),
        ("residual", ["--no-accumulate", "--bgr"], video.residual(1, 4, accumulate=False, bgr=True)),
        ("iframe", [], video.iframe(1)),
    ]:
        out = tmp_path / f"{rep}.npy"
        result = CliRunner().invoke(
            main, ["extract", str(path), "--gop", "1", "--pos", "4", "--rep", rep, *flags, "--out", str(out)]
        )
        assert result.exit_code == 0, result.output
        assert np.array_equal(np.load(out), want) and np.load(out).dtype == want.dtype


def test_extract_command_reports_a_bad_index_in_one_line(coviar_file, tmp_path: Path) -> None:
    path, _ = coviar_file
    result = CliRunner().invoke(
        main, ["extract", str(path), "--gop", "7", "--rep", "mv", "--out", str(tmp_path / "x.npy")]
    )
    assert result.exit_code == 1
    assert "gop 7 out of range: valid values are 0..=2" in result.output
    assert "Traceback" not in result.output


def test_show_command_writes_a_png(coviar_file: tuple[Path, list[ref.Gop]], tmp_path: Path) -> None:
    path, _ = coviar_file
    out = tmp_path / "show.png"
    result = CliRunner().invoke(main, ["show", str(path), "--gop", "0", "--pos", "5", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image

    image = matplotlib.image.imread(out)
    assert image.shape[1] > 3 * 176 and image.std() > 0.05


def test_flow_colours_encode_direction_and_length() -> None:
    from pkdkit.representations import flow_to_rgb

    mv = np.array([[[0, 0], [4, 0], [-4, 0], [0, 4], [2, 0]]], np.int32)
    rgb = flow_to_rgb(mv).astype(int)
    assert rgb[0, 0].tolist() == [255, 255, 255]  # no motion: white
    assert len({tuple(c) for c in rgb[0, 1:4].tolist()}) == 3  # three directions, three hues
    assert rgb[0, 4].min() > rgb[0, 1].min()  # half the length: paler
