"""Split files: UCF-101 and HMDB-51 formats written by hand, and the seeded folder split."""

from __future__ import annotations

from pathlib import Path

import pytest

from pkdkit.data.splits import folder_split, hmdb51_splits, read_splits, ucf101_splits


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode())


@pytest.fixture
def ucf_dir(tmp_path: Path) -> Path:
    # CRLF line endings and a folder spelled differently from classInd.txt, as in the real lists.
    _write(tmp_path / "classInd.txt", "1 ApplyEyeMakeup\r\n2 HandstandPushups\r\n3 YoYo\r\n")
    _write(
        tmp_path / "trainlist01.txt",
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1\r\n"
        "HandstandPushups/v_HandStandPushups_g08_c01.avi 2\r\n"
        "YoYo/v_YoYo_g09_c02.avi 3\r\n\r\n",
    )
    _write(
        tmp_path / "testlist01.txt",
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi\r\nHandStandPushups/v_HandStandPushups_g01_c01.avi\r\n",
    )
    _write(tmp_path / "trainlist02.txt", "YoYo/v_YoYo_g01_c01.avi 3\n")
    _write(tmp_path / "testlist02.txt", "YoYo/v_YoYo_g09_c02.avi\n")
    return tmp_path


def test_ucf101_splits(ucf_dir: Path) -> None:
    one, two = ucf101_splits(ucf_dir)
    assert one.name == "ucf101_split1" and two.name == "ucf101_split2"
    assert one.classes == ("ApplyEyeMakeup", "HandstandPushups", "YoYo")
    assert one.train == (
        ("ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi", 0),
        ("HandstandPushups/v_HandStandPushups_g08_c01.avi", 1),
        ("YoYo/v_YoYo_g09_c02.avi", 2),
    )
    assert one.test == (
        ("ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi", 0),
        ("HandStandPushups/v_HandStandPushups_g01_c01.avi", 1),
    )
    assert two.train == (("YoYo/v_YoYo_g01_c01.avi", 2),) and two.test == (("YoYo/v_YoYo_g09_c02.avi", 2),)


def test_ucf101_splits_fails(tmp_path: Path, ucf_dir: Path) -> None:
    with pytest.raises(FileNotFoundError, match="classInd.txt"):
        ucf101_splits(tmp_path / "nowhere")
    _write(ucf_dir / "testlist01.txt", "Unknown/v_Unknown_g01_c01.avi\n")
    with pytest.raises(ValueError, match=r"testlist01.txt:1: 'Unknown/v_Unknown_g01_c01.avi'"):
        ucf101_splits(ucf_dir)
    _write(ucf_dir / "trainlist01.txt", "YoYo/v_YoYo_g09_c02.avi 4\n")
    with pytest.raises(ValueError, match=r"trainlist01.txt:1: expected"):
        ucf101_splits(ucf_dir)
    _write(ucf_dir / "classInd.txt", "1 A\n3 B\n")
    with pytest.raises(ValueError, match="class numbers"):
        ucf101_splits(ucf_dir)


@pytest.fixture
def hmdb_dir(tmp_path: Path) -> Path:
    for n in (1, 2):
        _write(
            tmp_path / f"brush_hair_test_split{n}.txt",
            f"April_09_brush_hair_u_nm_np1_ba_goo_0.avi {n} \nAmy_brush_hair_h_cm_np1_le_goo_1.avi {3 - n} \n"
            "Blonde_brush_hair_f_nm_np2_fr_med_2.avi 0 \n",
        )
        _write(
            tmp_path / f"cartwheel_test_split{n}.txt",
            "(Rad)Schlag_die_Bank!_cartwheel_f_cm_np1_le_med_0.avi 1 \nBest_cartwheel_f_cm_np1_ri_bad_1.avi 2 \n",
        )
    return tmp_path


def test_hmdb51_splits(hmdb_dir: Path) -> None:
    one, two = hmdb51_splits(hmdb_dir)
    assert one.classes == ("brush_hair", "cartwheel") and one.name == "hmdb51_split1"
    assert one.train == (
        ("brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0.avi", 0),
        ("cartwheel/(Rad)Schlag_die_Bank!_cartwheel_f_cm_np1_le_med_0.avi", 1),
    )
    assert one.test == (
        ("brush_hair/Amy_brush_hair_h_cm_np1_le_goo_1.avi", 0),
        ("cartwheel/Best_cartwheel_f_cm_np1_ri_bad_1.avi", 1),
    )
    # Split 2 swaps the two brush_hair marks; mark 0 is never used.
    assert two.train[0] == ("brush_hair/Amy_brush_hair_h_cm_np1_le_goo_1.avi", 0)
    assert all("Blonde" not in v for v, _ in one.train + one.test + two.train + two.test)


def test_hmdb51_splits_fails(hmdb_dir: Path) -> None:
    (hmdb_dir / "cartwheel_test_split2.txt").unlink()
    with pytest.raises(ValueError, match=r"split 2 has no file for class\(es\) \['cartwheel'\]"):
        hmdb51_splits(hmdb_dir)
    _write(hmdb_dir / "cartwheel_test_split1.txt", "video.avi 3\n")
    with pytest.raises(ValueError, match=r"cartwheel_test_split1.txt:1: expected"):
        hmdb51_splits(hmdb_dir)
    with pytest.raises(FileNotFoundError, match="HMDB-51"):
        hmdb51_splits(hmdb_dir / "brush_hair_test_split1.txt")


def test_folder_split_is_seeded_and_stratified(tmp_path: Path) -> None:
    for cls, n in (("b_walk", 10), ("a_run", 4), ("c_one", 1)):
        for i in range(n):
            _write(tmp_path / cls / f"v{i:02d}.avi", "")
    _write(tmp_path / "a_run" / "notes.txt", "not a video")
    _write(tmp_path / "classInd.txt", "ignored: a file, not a class folder")
    (split,) = folder_split(tmp_path, test_ratio=0.3, seed=5)
    assert split.classes == ("a_run", "b_walk", "c_one")
    test_by_class = [sum(label == c for _, label in split.test) for c in range(3)]
    assert test_by_class == [1, 3, 0]  # round(0.3 * n), at least 1, never the whole class
    everything = sorted(split.train + split.test)
    assert len(everything) == 15 and len(set(everything)) == 15
    assert folder_split(tmp_path, test_ratio=0.3, seed=5) == [split]
    seeds = {folder_split(tmp_path, test_ratio=0.3, seed=s)[0].test for s in range(6)}
    assert len(seeds) > 1
    assert read_splits("folder", None, tmp_path, test_ratio=0.3, seed=5) == [split]


def test_folder_split_fails(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no class sub-folders"):
        folder_split(tmp_path)
    with pytest.raises(ValueError, match="test ratio 1.5"):
        folder_split(tmp_path, test_ratio=1.5)
    with pytest.raises(ValueError, match="--splits DIR"):
        read_splits("ucf101", None, tmp_path)
    with pytest.raises(ValueError, match="unknown dataset 'kinetics'"):
        read_splits("kinetics", tmp_path, tmp_path)


def test_split_reading_does_not_import_torch() -> None:
    import subprocess
    import sys

    code = (
        "import sys, pkdkit, pkdkit.data; pkdkit.data.read_splits; pkdkit.data.synth_dataset; "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
