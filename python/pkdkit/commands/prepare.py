"""``pkdkit prepare``: re-encode UCF-101, HMDB-51, Kinetics-400, Something-Something v2 or a class
folder to the CoViAR format."""

from __future__ import annotations

import sys

import click


@click.command()
@click.argument("dataset", type=click.Choice(["ucf101", "hmdb51", "kinetics400", "ssv2", "folder"]))
@click.option(
    "--videos", required=True, type=click.Path(file_okay=False),
    help="Folder of original videos (CLASS/VIDEO; kinetics400 and ssv2: any layout, found by file name).",
)
@click.option(
    "--splits", type=click.Path(),
    help="The official split files: a folder (kinetics400: its CSVs, or one CSV; ssv2: the JSON lists "
    "and labels.json). Not for folder.",
)
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--workers", type=int, default=None, help="Parallel processes [default: CPU count].")
@click.option("--size", default="340x256", show_default=True, help="Output frame size WIDTHxHEIGHT.")
@click.option("--gop", type=int, default=12, show_default=True, help="Frames per GOP.")
@click.option("--keep-original", is_flag=True, help="Do not re-encode: datalists point at the original files.")
@click.option("--shard", default=None, help="K/N: convert only the K-th (1-based) of N deterministic shards.")
@click.option("--test-ratio", type=float, default=0.3, show_default=True, help="folder: test fraction per class.")
@click.option("--seed", type=int, default=0, show_default=True, help="folder: seed of the train/test shuffle.")
def prepare(
    dataset: str, videos: str, splits: str | None, out: str, workers: int | None, size: str, gop: int,
    keep_original: bool, shard: str | None, test_ratio: float, seed: int,
) -> None:
    """Re-encode DATASET (ucf101, hmdb51, kinetics400, ssv2 or folder) to the CoViAR format and
    write datalists.

    Each video becomes OUT/CLASS/VIDEO.m4v: MPEG-4 Part 2 at quantiser 1, fixed GOP, no B-frames,
    scaled to --size, encoded in parallel. Finished videos are skipped, so an interrupted run
    resumes; a video that fails is named in the summary and in OUT/prepare.log, the others go on,
    and the exit code is 1. Datalists OUT/datalists/DATASET_splitN_{train,test}.txt list
    "PATH LABEL FRAMES" (PATH relative to OUT, LABEL from 0). Clips the official lists name but
    --videos lacks (Kinetics, SSv2) are counted and listed in OUT/missing.txt; they do not change
    the exit code. With --shard K/N, run every shard (e.g. as array jobs; docs/datasets.md), then
    once more without --shard to write the datalists.
    """
    from ..data._encode import parse_size
    from ..data.prepare import parse_shard, prepare_dataset

    report = prepare_dataset(
        dataset, videos, out, splits=splits, workers=workers, size=parse_size(size), gop=gop,
        keep_original=keep_original, shard=parse_shard(shard), test_ratio=test_ratio, seed=seed,
    )
    click.echo(
        f"{dataset}: {len(report.encoded)} encoded, {len(report.skipped)} "
        f"{'kept' if keep_original else 'already done'}, {len(report.failed)} failed"
    )
    if report.missing:
        click.echo(f"  {len(report.missing)} listed clip(s) not in {videos}: see {report.missing_path}")
    for path in report.datalists:
        click.echo(f"  wrote {path}")
    if shard is not None:
        click.echo("  sharded run: run again without --shard to write the datalists")
    if report.failed:
        for relpath, reason in report.failed:
            click.echo(f"  FAILED {relpath}: {reason}", err=True)
        click.echo(f"{len(report.failed)} video(s) failed; see {report.log_path}", err=True)
        sys.exit(1)
