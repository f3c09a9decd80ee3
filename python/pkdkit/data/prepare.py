"""Turn a downloaded dataset into CoViAR-format videos and datalists (``pkdkit prepare``).

Each video is decoded with PyAV, scaled (bicubic) to the target size and re-encoded with FFmpeg's
``mpeg4`` encoder at quantiser 1 with a fixed GOP and no B-frames, as a raw MPEG-4 Part 2 stream
``OUT/<class>/<video>.m4v``. Work runs in parallel processes; each output is written to a temporary
file and renamed, so an interrupted run resumes where it stopped and skips finished videos. A video
that fails is logged to ``OUT/prepare.log`` and reported; the others go on. The encoding settings
are kept in ``OUT/prepare.json``; resuming with other settings is refused.

Datalists ``OUT/datalists/<dataset>_split<N>_{train,test}.txt`` hold one line per video,
``<path relative to OUT> <0-based label> <number of frames>``. Output paths keep the source's
folders with blanks turned into ``_`` (Kinetics class folders such as ``air drumming``), since a
datalist line is split at blanks.

Clips that the official lists name but the videos folder lacks (Kinetics and SSv2 downloads are
never complete) are counted, listed in ``OUT/missing.txt`` and left out of the datalists; the
rest are prepared.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from ._encode import EncodeSpec, encode_video
from ._pool import imap_processes
from .splits import Split, read_splits

__all__ = ["PrepareReport", "prepare_dataset", "parse_shard", "shard_of", "count_frames"]

@dataclass
class PrepareReport:
    """What :func:`prepare_dataset` did.

    Attributes:
        encoded: videos written by this run.
        skipped: videos already finished by an earlier run.
        failed: ``(relative source path, reason)`` of each video that could not be converted.
        missing: ``(clip name, "train" or "test", class name)`` of each clip the official lists
            name but the videos folder lacks (Kinetics, SSv2); they are in no datalist.
        datalists: the datalist files written (none for a sharded run).
        log_path: where failures were logged.
        missing_path: where the missing clips are listed (written only when there are some).
    """

    encoded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    missing: list[tuple[str, str, str]] = field(default_factory=list)
    datalists: list[Path] = field(default_factory=list)
    log_path: Path = Path("prepare.log")
    missing_path: Path = Path("missing.txt")


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``"2/8"`` -> ``(2, 8)`` (1-based shard K of N); ``None`` stays ``None``."""
    if text is None:
        return None
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise ValueError(f"shard {text!r}: expected K/N, e.g. 1/4") from None
    if not 1 <= k <= n:
        raise ValueError(f"shard {text!r}: need 1 <= K <= N")
    return k, n


def shard_of(videos: Iterable[str], shard: tuple[int, int] | None) -> list[str]:
    """The videos of shard ``(K, N)``: every N-th of the sorted unique list, starting at K - 1.

    The N shards partition the set exactly and depend only on the split files, so array jobs
    on different machines agree without talking to each other.
    """
    ordered = sorted(set(videos))
    if shard is None:
        return ordered
    k, n = shard
    return ordered[k - 1 :: n]


def output_path(relpath: str) -> str:
    """Where the re-encoded ``relpath`` goes, relative to OUT: same folders, ``.m4v``, blanks
    turned into ``_`` (a datalist line is split at blanks)."""
    return re.sub(r"\s", "_", str(Path(relpath).with_suffix(".m4v")))


def count_frames(path: str | Path) -> int:
    """Frames of a video without decoding: pkdkit's own reader where it has one, else one frame
    per demuxed packet, as CoViAR counts."""
    import av

    import pkdkit

    if hasattr(pkdkit, "open"):
        try:
            return int(pkdkit.open(str(path)).num_frames)
        except pkdkit.UnsupportedCodecError:
            pass  # not MPEG-4 Part 2 (an original H.264 video): count packets

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return sum(1 for packet in container.demux(stream) if packet.size)


def _convert(job: tuple[str, Path, Path, EncodeSpec]) -> tuple[str, str, int, str]:
    """Re-encode one video. Returns (relpath, status, frames, error) with status
    ``encoded``/``skipped``/``failed``; never raises, so one bad video cannot stop the run."""
    relpath, videos_dir, out_dir, spec = job
    target = out_dir / output_path(relpath)
    try:
        if target.exists():
            # Counted here, in parallel: a closing run over all of Kinetics would otherwise
            # count 240k files one by one while writing the datalists.
            return relpath, "skipped", count_frames(target), ""
        import av

        target.parent.mkdir(parents=True, exist_ok=True)
        with av.open(str(videos_dir / relpath)) as container:
            if not container.streams.video:
                raise ValueError("no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "NONE"  # the pool already keeps every core busy
            frames = encode_video(_whole(container, stream), target, spec)
        return relpath, "encoded", frames, ""
    except Exception as err:  # noqa: BLE001 - any failure of one video is reported, not raised
        return relpath, "failed", 0, f"{type(err).__name__}: {err}"


def _whole(container: Any, stream: Any) -> Iterator[Any]:
    """The decoded frames of ``stream``; raises at the end if they stop well short of the duration
    the container declares. A truncated download (WebM above all) decodes without an error, just
    fewer frames: it would otherwise become a short clip that looks fine."""
    first = last = None
    for frame in container.decode(stream):
        if frame.time is not None:  # frames without timestamps: nothing to compare
            first = frame.time if first is None else first
            last = frame.time
        yield frame
    if stream.duration and stream.time_base:
        declared = float(stream.duration * stream.time_base)
    else:
        declared = (container.duration or 0) / 1e6
    rate = stream.average_rate or stream.guessed_rate
    step = 1 / float(rate) if rate else 0.04
    if first is not None and last is not None and last - first + step < declared / 2:
        raise ValueError(
            f"damaged: frames cover {last - first + step:.2f} s of the {declared:.2f} s the container "
            "declares (truncated file?)"
        )


def _log(path: Path, message: str) -> None:
    """Append one time-stamped line to the run log (opened per line: a killed run keeps its log)."""
    with open(path, "a") as log:
        log.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}\n")


def prepare_dataset(
    dataset: str,
    videos: str | Path,
    out: str | Path,
    *,
    splits: str | Path | None = None,
    workers: int | None = None,
    size: tuple[int, int] = (340, 256),
    gop: int = 12,
    keep_original: bool = False,
    shard: tuple[int, int] | None = None,
    test_ratio: float = 0.3,
    seed: int = 0,
    progress: bool = True,
) -> PrepareReport:
    """Re-encode a dataset to the CoViAR format and write its datalists.

    Args:
        dataset: ``"ucf101"``, ``"hmdb51"``, ``"folder"``, ``"kinetics400"`` or ``"ssv2"`` (see
            :mod:`pkdkit.data.splits`).
        videos: the folder of original videos (``<class>/<video>``; for Kinetics and SSv2 any
            layout: clips are found by file name).
        out: output folder (created).
        splits: the folder of official split files or annotation lists (not needed for
            ``folder``; for Kinetics also a single CSV).
        workers: parallel processes (default: CPU count).
        size: output (width, height).
        gop: frames per GOP.
        keep_original: do not re-encode; datalists point at the original files.
        shard: ``(K, N)``: convert only the K-th of N shards (see :func:`shard_of`); datalists
            are then left to a final run without ``shard``, which skips the finished videos.
        test_ratio: test fraction per class for ``folder``.
        seed: shuffle seed for ``folder``.
        progress: show a progress bar.

    Returns:
        A report naming encoded, skipped, failed and missing videos.

    Raises:
        FileNotFoundError: ``videos`` or a split file is missing.
        ValueError: malformed split files or bad arguments.
    """
    videos_dir, out_dir = Path(videos), Path(out)
    if not videos_dir.is_dir():
        raise FileNotFoundError(f"{videos_dir}: no such videos folder")
    all_splits = read_splits(dataset, splits, videos_dir, test_ratio=test_ratio, seed=seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    if not keep_original:
        _check_settings(out_dir, {"size": f"{size[0]}x{size[1]}", "gop": gop, "qscale": 1})
    report = PrepareReport(log_path=out_dir / "prepare.log", missing_path=out_dir / "missing.txt")
    report.missing = _report_missing(all_splits, report.missing_path)
    if report.missing:
        _log(report.log_path, f"{dataset}: {len(report.missing)} listed clip(s) not found, see {report.missing_path}")
    every_video = [v for s in all_splits for v, _ in (*s.train, *s.test)]
    todo = shard_of(every_video, shard)
    frames: dict[str, int] = {}
    if keep_original:
        jobs_done = _count_originals(todo, videos_dir, workers, progress)
    else:
        spec = EncodeSpec(width=size[0], height=size[1], gop=gop, container="m4v")
        jobs = [(relpath, videos_dir, out_dir, spec) for relpath in todo]
        jobs_done = _with_progress(
            imap_processes(_convert, jobs, _workers(workers, len(jobs))), len(jobs), "prepare", progress
        )
    started = time.time()
    for relpath, status, count, error in jobs_done:
        if status == "failed":
            report.failed.append((relpath, error))
            _log(report.log_path, f"FAILED {relpath}: {error}")
            continue
        (report.encoded if status == "encoded" else report.skipped).append(relpath)
        if count:
            frames[relpath] = count
    _log(
        report.log_path,
        f"{dataset}: {len(report.encoded)} encoded, {len(report.skipped)} skipped, "
        f"{len(report.failed)} failed in {time.time() - started:.1f} s",
    )
    if shard is None:
        failed = {relpath for relpath, _ in report.failed}
        report.datalists = _write_datalists(all_splits, out_dir, videos_dir, frames, failed, keep_original)
    return report


def _write_atomically(path: Path, text: str) -> None:
    """Write ``path`` through a uniquely named temporary file: array jobs of one run, on several
    machines, write the same shared files at the same time, and none may read a half-written one."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _check_settings(out_dir: Path, settings: dict) -> None:
    """Record the encoding settings in ``OUT/prepare.json``; refuse to resume with other ones,
    which would silently mix videos of two sizes or GOPs in one folder."""
    path = out_dir / "prepare.json"
    if path.exists():
        before = json.loads(path.read_text())
        if before != settings:
            raise ValueError(
                f"{out_dir} holds videos prepared with {before}, not {settings}: use another --out"
            )
        return
    _write_atomically(path, json.dumps(settings) + "\n")


def _report_missing(splits: list[Split], path: Path) -> list[tuple[str, str, str]]:
    """The listed clips that are not on disk, written to ``path`` (tab-separated: clip, side,
    label, class); a stale list from an earlier run is removed when none are missing."""
    missing = [(clip, side, split.classes[label], label) for split in splits for clip, side, label in split.missing]
    if not missing:
        path.unlink(missing_ok=True)
        return []
    lines = ["# clip\tset\tlabel\tclass: listed in the official lists, not found under the videos folder\n"]
    lines += [f"{clip}\t{side}\t{label}\t{name}\n" for clip, side, name, label in missing]
    _write_atomically(path, "".join(lines))
    return [(clip, side, name) for clip, side, name, _ in missing]


def _workers(workers: int | None, jobs: int) -> int:
    return max(1, min(workers or os.cpu_count() or 1, jobs))


def _with_progress(items: Iterable, total: int, what: str, progress: bool) -> Iterable:
    if not progress:
        return items
    from rich.progress import track

    return track(items, total=total, description=f"{what}: {total} videos")


def _count_one(job: tuple[str, Path]) -> tuple[str, str, int, str]:
    relpath, videos_dir = job
    if re.search(r"\s", relpath):
        return relpath, "failed", 0, "a blank in the path cannot go in a datalist: re-encode instead of --keep-original"
    try:
        return relpath, "skipped", count_frames(videos_dir / relpath), ""
    except Exception as err:  # noqa: BLE001 - reported per video
        return relpath, "failed", 0, f"{type(err).__name__}: {err}"


def _count_originals(todo: list[str], videos_dir: Path, workers: int | None, progress: bool) -> Iterable:
    jobs = [(relpath, videos_dir) for relpath in todo]
    done = imap_processes(_count_one, jobs, _workers(workers, len(jobs)))
    return _with_progress(done, len(jobs), "count frames", progress)


def _write_datalists(
    splits: list[Split],
    out_dir: Path,
    videos_dir: Path,
    frames: dict[str, int],
    failed: set[str],
    keep_original: bool,
) -> list[Path]:
    lists_dir = out_dir / "datalists"
    lists_dir.mkdir(exist_ok=True)
    written = []
    for split in splits:
        for side, entries in (("train", split.train), ("test", split.test)):
            lines = []
            for relpath, label in entries:
                if relpath in failed:
                    continue
                if keep_original:
                    path = Path(os.path.relpath(videos_dir / relpath, out_dir))
                else:
                    path = Path(output_path(relpath))
                if relpath not in frames:  # finished by an earlier run
                    frames[relpath] = count_frames(out_dir / path)
                lines.append(f"{path.as_posix()} {label} {frames[relpath]}\n")
            target = lists_dir / f"{split.name}_{side}.txt"
            tmp = target.with_name(f".{target.name}.tmp")
            tmp.write_text("".join(lines))
            os.replace(tmp, target)
            written.append(target)
    return written
