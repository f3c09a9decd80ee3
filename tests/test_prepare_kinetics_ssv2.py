"""``pkdkit prepare kinetics400`` and ``ssv2`` on small fake trees made here: tiny clips written with
PyAV (H.264 in .mp4 for Kinetics, VP8/VP9 in .webm for SSv2) under the official annotation files,
with clips missing from the folder and damaged ones."""

from __future__ import annotations

import json
import shutil
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from click.testing import CliRunner

from pkdkit.cli import main
from pkdkit.data.prepare import prepare_dataset
from pkdkit.data.splits import kinetics400_splits, read_splits, ssv2_splits

from clips import ffmpeg_frames


def write_clip(path: Path, codec: str, frames: int, seed: int) -> Path:
    """A tiny clip (48x32) of ``frames`` frames: a bar moving over seeded noise."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    background = rng.integers(0, 255, (32, 48, 3), dtype=np.uint8)
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=Fraction(25, 1))
        stream.width, stream.height, stream.pix_fmt = 48, 32, "yuv420p"
        for t in range(frames):
            img = background.copy()
            img[:, (3 * t) % 40 : (3 * t) % 40 + 8] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


# ---------------------------------------------------------------- Kinetics-400

# (label, youtube_id, start, end, split). Labels with blanks, brackets and quotes, as the real ones.
KINETICS_ROWS = [
    ("air drumming", "aaaaaaaaaa1", 0, 10, "train"),
    ("air drumming", "aaaaaaaaaa2", 14, 24, "train"),
    ("tying knot (not on a tie)", "bbbbbbbbbb1", 102, 112, "train"),
    ("tying knot (not on a tie)", "bbbbbbbbbb2", 5, 15, "train"),
    ("abseiling", "cc-cccc_cc1", 30, 40, "train"),
    ("massaging person's head", "dddddddddd1", 0, 10, "train"),
    ("abseiling", "eeeeeeeeee1", 1, 11, "val"),
    ("air drumming", "eeeeeeeeee2", 60, 70, "val"),
    ("massaging person's head", "eeeeeeeeee3", 7, 17, "val"),
    ("tying knot (not on a tie)", "eeeeeeeeee4", 0, 10, "val"),
]
KINETICS_CLASSES = ["abseiling", "air drumming", "massaging person's head", "tying knot (not on a tie)"]
K_MISSING = {"bbbbbbbbbb2_000005_000015", "eeeeeeeeee4_000000_000010"}  # never downloaded
K_GARBAGE = "dddddddddd1_000000_000010"  # not a video at all
K_TRUNCATED = "eeeeeeeeee3_000007_000017"  # download cut short: no moov atom


def clip_name(row: tuple) -> str:
    return f"{row[1]}_{row[2]:06d}_{row[3]:06d}"


def kinetics_frames(index: int) -> int:
    return 6 + index  # every clip a different length, so the datalists show which clip went where


@pytest.fixture(scope="module", params=["split/class", "split"])
def kinetics(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Kinetics tree in one of the two common layouts: ``<split>/<class>/<clip>.mp4`` (the
    ActivityNet crawler) or ``<split>/<clip>.mp4`` (the CVDF archives)."""
    root = tmp_path_factory.mktemp("kinetics")
    ann = root / "annotations"
    ann.mkdir()
    header_cc = "label,youtube_id,time_start,time_end,split,is_cc\n"
    header = "label,youtube_id,time_start,time_end,split\n"

    def line(row: tuple) -> str:
        label = f'"{row[0]}"' if " " in row[0] else row[0]  # csv quoting, as pandas writes it
        return f"{label},{row[1]},{row[2]},{row[3]},{row[4]}"

    # train.csv has the is_cc column (the 2017 release), validate.csv not; test rows are not used.
    (ann / "train.csv").write_text(header_cc + "".join(f"{line(r)},0\n" for r in KINETICS_ROWS if r[4] == "train"))
    (ann / "validate.csv").write_text(header + "".join(f"{line(r)}\n" for r in KINETICS_ROWS if r[4] == "val"))
    (ann / "test.csv").write_text(header + "abseiling,ffffffffff1,0,10,test\n")
    (ann / "README.txt").write_text("not a csv: ignored\n")
    videos = root / "videos"
    for i, row in enumerate(KINETICS_ROWS):
        name = clip_name(row)
        if name in K_MISSING:
            continue
        folder = videos / row[4] / row[0] if request.param == "split/class" else videos / row[4]
        path = folder / f"{name}.mp4"
        if name == K_GARBAGE:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"<html>This video is unavailable</html>" * 20)
        else:
            write_clip(path, "libx264", kinetics_frames(i), seed=i)
        if name == K_TRUNCATED:
            truncate(path)
    # A partial download of a missing clip: not a clip.
    (videos / "train" / "bbbbbbbbbb2_000005_000015.mp4.part").write_bytes(b"\0" * 100)
    return root


def test_kinetics_splits(kinetics: Path) -> None:
    (split,) = read_splits("kinetics400", kinetics / "annotations", kinetics / "videos")
    assert split.name == "kinetics400_split1" and list(split.classes) == KINETICS_CLASSES
    assert {c for c, _, _ in split.missing} == K_MISSING
    assert {(c, side, split.classes[label]) for c, side, label in split.missing} == {
        ("bbbbbbbbbb2_000005_000015", "train", "tying knot (not on a tie)"),
        ("eeeeeeeeee4_000000_000010", "test", "tying knot (not on a tie)"),
    }
    sets = (("train", split.train), ("test", split.test))
    found = {Path(p).stem: (side, label) for side, entries in sets for p, label in entries}
    expected = {
        clip_name(r): ("train" if r[4] == "train" else "test", KINETICS_CLASSES.index(r[0]))
        for r in KINETICS_ROWS
        if clip_name(r) not in K_MISSING
    }
    assert found == expected
    # Outputs of an earlier prepare inside the videos folder are not taken for clips.
    inside = kinetics / "videos" / "0-coviar"
    (inside / "train").mkdir(parents=True, exist_ok=True)
    (inside / "prepare.json").write_text("{}")
    (inside / "train" / "aaaaaaaaaa1_000000_000010.m4v").write_bytes(b"")
    (again,) = read_splits("kinetics400", kinetics / "annotations", kinetics / "videos")
    assert again == split
    shutil.rmtree(inside)
    # A single CSV works too.
    (one,) = kinetics400_splits(kinetics / "annotations" / "validate.csv", kinetics / "videos")
    assert len(one.train) == 0 and len(one.test) == 3


def test_prepare_kinetics(kinetics: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["prepare", "kinetics400", "--videos", str(kinetics / "videos"), "--splits", str(kinetics / "annotations"),
            "--out", str(out), "--size", "32x32", "--gop", "4", "--workers", "2"]
    result = CliRunner().invoke(main, args)
    # Two damaged clips fail (exit 1, named); the missing ones are reported, not failures.
    assert result.exit_code == 1, result.output
    assert "6 encoded" in result.output and "2 failed" in result.output
    assert "2 listed clip(s) not in" in result.output
    assert K_GARBAGE in result.output and K_TRUNCATED in result.output
    missing = (out / "missing.txt").read_text().splitlines()
    assert missing[0].startswith("#") and {line.split("\t")[0] for line in missing[1:]} == K_MISSING
    assert "eeeeeeeeee4_000000_000010\ttest\t3\ttying knot (not on a tie)" in missing
    assert "2 listed clip(s) not found" in (out / "prepare.log").read_text()

    lines = {side: (out / "datalists" / f"kinetics400_split1_{side}.txt").read_text().splitlines()
             for side in ("train", "test")}
    assert len(lines["train"]) == 4 and len(lines["test"]) == 2
    rows = {clip_name(r): (i, r) for i, r in enumerate(KINETICS_ROWS)}
    for side, side_lines in lines.items():
        for line in side_lines:
            path, label, frames = line.split()
            i, row = rows[Path(path).stem]
            assert ("train" if row[4] == "train" else "test") == side
            assert KINETICS_CLASSES[int(label)] == row[0]
            assert int(frames) == kinetics_frames(i)
            decoded = ffmpeg_frames(out / path)
            assert len(decoded) == kinetics_frames(i) and (decoded[0].width, decoded[0].height) == (32, 32)
            assert decoded[0].format.name == "yuv420p" and path.endswith(".m4v") and " " not in path
    before = {p.name: p.read_text() for p in (out / "datalists").iterdir()}

    # Resuming: nothing is encoded again; the same datalists and missing list.
    again = prepare_dataset("kinetics400", kinetics / "videos", out, splits=kinetics / "annotations",
                            size=(32, 32), gop=4, workers=1, progress=False)
    assert again.encoded == [] and len(again.skipped) == 6
    assert {Path(v).stem for v, _ in again.failed} == {K_GARBAGE, K_TRUNCATED}
    assert {c for c, _, _ in again.missing} == K_MISSING
    assert {p.name: p.read_text() for p in (out / "datalists").iterdir()} == before

    # The missing clips arrive (in a folder of their own: clips are found by name): the next run
    # encodes just them, the datalists grow and missing.txt goes.
    videos = tmp_path / "videos"
    shutil.copytree(kinetics / "videos", videos)
    for i, row in enumerate(KINETICS_ROWS):
        if clip_name(row) in K_MISSING:
            write_clip(videos / "late" / f"{clip_name(row)}.mp4", "libx264", kinetics_frames(i), seed=i)
    late = prepare_dataset("kinetics400", videos, out, splits=kinetics / "annotations", size=(32, 32), gop=4,
                           workers=1, progress=False)
    assert sorted(Path(v).stem for v in late.encoded) == sorted(K_MISSING) and late.missing == []
    assert not (out / "missing.txt").exists()
    assert [len(p.read_text().splitlines()) for p in late.datalists] == [5, 3]


def test_kinetics_shards_compose(kinetics: Path, tmp_path: Path) -> None:
    """Array jobs: each shard converts a disjoint part; a closing run writes the datalists, the
    same as a single run's."""
    out = tmp_path / "sharded"
    options = dict(splits=kinetics / "annotations", size=(32, 32), gop=4, workers=1, progress=False)
    parts = []
    for k in (1, 2, 3):
        report = prepare_dataset("kinetics400", kinetics / "videos", out, shard=(k, 3), **options)
        assert report.datalists == [] and {c for c, _, _ in report.missing} == K_MISSING
        parts.append(set(report.encoded) | {v for v, _ in report.failed})
    assert sum(len(p) for p in parts) == len(set.union(*parts)) == 8
    final = prepare_dataset("kinetics400", kinetics / "videos", out, **options)
    assert final.encoded == [] and len(final.skipped) == 6
    single = prepare_dataset("kinetics400", kinetics / "videos", tmp_path / "single", **options)
    assert [p.name for p in single.datalists] == [p.name for p in final.datalists]
    for path in final.datalists:
        assert path.read_text() == (tmp_path / "single" / "datalists" / path.name).read_text()


def test_kinetics_annotation_errors(tmp_path: Path) -> None:
    csv = tmp_path / "train.csv"
    csv.write_text("label,id,start,end\nabseiling,x,0,10\n")
    with pytest.raises(ValueError, match=r"train.csv: not a Kinetics annotation file: no column\(s\) youtube_id"):
        kinetics400_splits(csv, tmp_path)
    csv.write_text("label,youtube_id,time_start,time_end,split\nabseiling,x,0,10,train\nabseiling,y,zero,10,train\n")
    with pytest.raises(ValueError, match=r"train.csv:3: time 'zero' is not a whole number"):
        kinetics400_splits(csv, tmp_path)
    csv.write_text("label,youtube_id,time_start,time_end,split\nabseiling,x,0,10,holdout\n")
    with pytest.raises(ValueError, match=r"train.csv:2: split 'holdout'"):
        kinetics400_splits(csv, tmp_path)
    csv.write_text("label,youtube_id,time_start,time_end,split\n,x,0,10,train\n")
    with pytest.raises(ValueError, match=r"train.csv:2: a train row without a label"):
        kinetics400_splits(csv, tmp_path)
    with pytest.raises(FileNotFoundError, match="no Kinetics annotation CSV"):
        kinetics400_splits(tmp_path / "empty", tmp_path)


# ---------------------------------------------------------------- Something-Something v2

SSV2_LABELS = {"Holding something next to something": "0", "Pushing something from left to right": "1",
               "Putting something on a surface": "2"}
SSV2_TRAIN = [
    ("101", "Holding [something] next to [something]"),
    ("102", "Pushing [something] from left to right"),
    ("103", "Putting [something] on a surface"),
    ("104", "Pushing [something] from left to right"),
    ("105", "Holding [something] next to [something]"),
]
SSV2_VAL = [("201", "Putting [something] on a surface"), ("202", "Holding [something] next to [something]"),
            ("203", "Pushing [something] from left to right")]
S_MISSING = {"104"}
S_TRUNCATED = "105"  # a WebM cut short decodes without an error, just fewer frames
S_GARBAGE = "203"


def ssv2_frames(clip: str) -> int:
    return 20 + int(clip) % 100


@pytest.fixture(scope="module")
def ssv2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ssv2")
    ann = root / "annotations"
    ann.mkdir()
    (ann / "labels.json").write_text(json.dumps(SSV2_LABELS, indent=4))

    def entries(rows: list) -> str:
        return json.dumps([{"id": clip, "label": template.replace("[something]", "a cup"), "template": template,
                            "placeholders": ["a cup"] * template.count("[")} for clip, template in rows])

    (ann / "something-something-v2-train.json").write_text(entries(SSV2_TRAIN))
    (ann / "something-something-v2-validation.json").write_text(entries(SSV2_VAL))
    (ann / "something-something-v2-test.json").write_text(json.dumps([{"id": "301"}]))
    videos = root / "20bn-something-something-v2"
    for i, (clip, _) in enumerate(SSV2_TRAIN + SSV2_VAL):
        if clip in S_MISSING:
            continue
        if clip == S_GARBAGE:
            (videos / f"{clip}.webm").write_bytes(b"\x1aE\xdf\xa3 not really matroska" * 10)
            continue
        write_clip(videos / f"{clip}.webm", "libvpx-vp9" if i % 2 else "libvpx", ssv2_frames(clip), seed=i)
        if clip == S_TRUNCATED:
            truncate(videos / f"{clip}.webm")
    return root


def test_ssv2_splits(ssv2: Path) -> None:
    (split,) = ssv2_splits(ssv2 / "annotations", ssv2)
    assert split.name == "ssv2_split1" and split.classes == tuple(SSV2_LABELS)
    assert split.missing == (("104", "train", 1),)
    assert dict(split.train) == {
        "20bn-something-something-v2/101.webm": 0,
        "20bn-something-something-v2/102.webm": 1,
        "20bn-something-something-v2/103.webm": 2,
        "20bn-something-something-v2/105.webm": 0,
    }
    assert dict(split.test) == {f"20bn-something-something-v2/{c}.webm": label
                                for c, label in (("201", 2), ("202", 0), ("203", 1))}


def test_prepare_ssv2(ssv2: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    videos = ssv2 / "20bn-something-something-v2"
    report = prepare_dataset("ssv2", videos, out, splits=ssv2 / "annotations", size=(32, 32), gop=6,
                             workers=2, progress=False)
    assert sorted(report.encoded) == ["101.webm", "102.webm", "103.webm", "201.webm", "202.webm"]
    failed = dict(report.failed)
    assert set(failed) == {"105.webm", "203.webm"}
    assert "truncated" in failed["105.webm"]
    assert report.missing == [("104", "train", "Pushing something from left to right")]
    for line in (out / "datalists" / "ssv2_split1_train.txt").read_text().splitlines() + (
        out / "datalists" / "ssv2_split1_test.txt"
    ).read_text().splitlines():
        path, label, frames = line.split()
        clip = Path(path).stem
        template = dict(SSV2_TRAIN + SSV2_VAL)[clip].replace("[", "").replace("]", "")
        assert int(label) == int(SSV2_LABELS[template]) and int(frames) == ssv2_frames(clip)
        assert len(ffmpeg_frames(out / path)) == ssv2_frames(clip)
    again = prepare_dataset("ssv2", videos, out, splits=ssv2 / "annotations", size=(32, 32), gop=6,
                            workers=1, progress=False)
    assert again.encoded == [] and len(again.skipped) == 5


def test_ssv2_annotation_errors(ssv2: Path, tmp_path: Path) -> None:
    ann = tmp_path / "ann"
    ann.mkdir()
    with pytest.raises(FileNotFoundError, match="labels.json: no such file"):
        ssv2_splits(ann, tmp_path)
    (ann / "labels.json").write_text(json.dumps(SSV2_LABELS))
    with pytest.raises(FileNotFoundError, match="something-something-v2-train.json"):
        ssv2_splits(ann, tmp_path)
    (ann / "something-something-v2-train.json").write_text(json.dumps([{"id": "1", "template": "Dancing"}]))
    (ann / "something-something-v2-validation.json").write_text("[]")
    with pytest.raises(ValueError, match=r"train.json: entry 0 \(id 1\): template 'Dancing' is not in labels.json"):
        ssv2_splits(ann, tmp_path)
    (ann / "labels.json").write_text(json.dumps({"A": "0", "B": "2"}))
    with pytest.raises(ValueError, match="class indices must be 0..1"):
        ssv2_splits(ann, tmp_path)


@pytest.mark.parametrize("name", ["kinetics400", "ssv2"])
def test_dataset_configs_resolve(name: str) -> None:
    from pkdkit.models import list_models
    from pkdkit.train.config import load_config, resolve

    config = load_config(Path(__file__).parents[1] / "configs" / f"{name}.toml")
    assert config["data"]["num_segments"] == 8
    assert config["data"]["mirror"] is (name == "kinetics400")  # SSv2 classes name left and right
    for modality in ("iframe", "mv", "residual"):
        for stage in ("backbone", "ics"):
            cfg = resolve(config, stage, modality)
            assert cfg["lr"] > 0 and cfg["batch_size"] == 32 and cfg["epochs"] > max(cfg["lr_steps"])
            assert cfg["model"]["arch"] in list_models()
        assert resolve(config, "ics", modality)["boundaries"] == [8, 17]
