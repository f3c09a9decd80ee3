"""Training-loader throughput: fused samples/s, pkdkit vs a PyAV + numpy loader, same run.

Both peers run the same :class:`pkdkit.data.FusedDataset` (TSN sampling, GOP mapping, multi-scale
crops, flips, normalisation, batched ``__getitems__``) under a torch ``DataLoader`` with the same
seed, so they load the same (video, GOP, position) samples; only the decoding differs:

* ``pkdkit``: :func:`pkdkit.open` for GOP boundaries, one :func:`pkdkit.load_batch` (Rust) call
  for the I-frame, accumulated MV and accumulated residual (each sample decoded once for all
  three), one thread per DataLoader worker;
  ``pkdkit-inproc``: the same without worker processes, ``load_batch`` on all cores.
* ``pyav``: CoViAR's rules on FFmpeg's decode through PyAV, in numpy: GOP boundaries from the
  demuxer's key-frame flags; a GOP is decoded once (``flags2=+export_mvs``, RGB by FFmpeg's
  swscale) and cached, so the fused sample's three modalities share one decode; the motion
  vectors are accumulated block by block with numpy fancy indexing (CoViAR's back-pointer map).
  ``pyav-percall``: the same, but each request decodes its GOP up to the position again, as
  CoViAR's own loader does. Ratios are against ``pyav``, the stronger baseline.
* ``coviar``: CoViAR's own C loader (``coviar.load``, see ``peers.py``), called once per
  representation and segment, as CoViAR, TEAM-Net and PKD train; GOPs of 12 frames as CoViAR's
  ``dataset.py`` assumes (the synthetic set's GOP). Its BGR I-frames are flipped to RGB and its
  int32 residuals narrowed to int16 so the transforms see what they see from pkdkit. Skipped,
  with the reason, when ``coviar`` is not importable.

Outputs: ``pkdkit``, ``pkdkit-inproc`` and the PyAV peers use ``FusedDataset``'s default uint8
pictures, and the timed loop normalises every batch with :func:`pkdkit.data.normalize_batch` in
the main process on the CPU (a training node does that on its GPU), so that cost is in their
time; ``pkdkit-float32`` makes float32 network input in the workers (``output="float32"``); both
hand over the batch the workers wrote to shared memory (``FusedDataset.collate``). ``coviar``
hands over float32 network input made in the workers, stacked by ``default_collate``, as
CoViAR's dataset does.

Per core: samples per second of the CPU time the run used (workers and main process together,
from ``/proc``), which a shared, loaded machine changes far less than the wall-clock rate; and
the wall-clock rate divided by the worker count, as before.

A fused sample = ``num_segments`` x (I-frame + MV + residual). Input: a synthetic set in the
CoViAR format (340x256, GOP 12, q 1) written once to a temporary folder (or ``--root`` with a
datalist). Prints a table, ``--json`` prints JSON.

    python benches/loader.py                          # 2 workers, batch 8, 224 crops, all peers
    python benches/loader.py --workers 2 --batches 20 --rounds 3 --json
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np
import torch
from torch.utils.data import DataLoader

from pkdkit.data.datasets import FusedDataset
from pkdkit.data.synth import synth_dataset
from pkdkit.data.transforms import normalize_batch

sys.path.insert(0, str(Path(__file__).parent))
from peers import cpu_model, import_coviar, load_average  # noqa: E402

# ---------------------------------------------------------------- the PyAV + numpy peer


class PyAVGops:
    """GOP boundaries of a file from the demuxer's key-frame flags (no decoding)."""

    def __init__(self, path: str) -> None:
        with av.open(path) as container:
            stream = container.streams.video[0]
            keys = [bool(p.is_keyframe) for p in container.demux(stream) if p.size]
        self.num_frames = len(keys)
        self.gop_starts = [i for i, key in enumerate(keys) if key]


def _decode_gop(path: str, gop: int, last: int | None = None) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """RGB frames and (N, 6) [w, h, src_x, src_y, dst_x, dst_y] vectors of one GOP, from its
    I-frame up to position ``last`` (the whole GOP if ``None``)."""
    frames, vectors = [], []
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "NONE"
        stream.codec_context.options = {"flags2": "+export_mvs"}
        seen = -1
        for packet in container.demux(stream):
            if packet.is_keyframe:
                seen += 1
            if seen < gop:
                continue
            if seen > gop or (last is not None and len(frames) > last):
                break
            for frame in packet.decode():
                frames.append(frame.to_ndarray(format="rgb24"))
                side = frame.side_data.get("MOTION_VECTORS")
                if side is None:
                    vectors.append(np.zeros((0, 6), np.int64))
                else:
                    mv = side.to_ndarray()
                    past = mv[mv["source"] < 0]
                    vectors.append(
                        np.stack([past[k].astype(np.int64) for k in ("w", "h", "src_x", "src_y", "dst_x", "dst_y")], 1)
                    )
    return frames, vectors


# The strong variant: a GOP is decoded once and shared by the I-frame, MV and residual requests.
_decoded_gop = functools.lru_cache(maxsize=16)(_decode_gop)


def _accumulate(shape: tuple[int, int], vectors: list[np.ndarray], pos: int) -> np.ndarray:
    """CoViAR's back-pointer map after ``pos`` P-frames: (H, W, 2) source (x, y) in the I-frame."""
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w]
    accu = np.stack([xs, ys], -1)
    for t in range(1, pos + 1):
        previous = accu.copy()
        vec = vectors[t]
        vec = vec[(vec[:, 2] != vec[:, 4]) | (vec[:, 3] != vec[:, 5])]
        for bw, bh in {(int(a), int(b)) for a, b in vec[:, :2]}:
            v = vec[(vec[:, 0] == bw) & (vec[:, 1] == bh)]
            ox, oy = np.meshgrid(np.arange(-(bw // 2), bw - bw // 2), np.arange(-(bh // 2), bh - bh // 2))
            dx, dy = v[:, 4, None, None] + ox, v[:, 5, None, None] + oy
            sx, sy = v[:, 2, None, None] + ox, v[:, 3, None, None] + oy
            ok = (dx >= 0) & (dx < w) & (dy >= 0) & (dy < h) & (sx >= 0) & (sx < w) & (sy >= 0) & (sy < h)
            accu[dy[ok], dx[ok]] = previous[sy[ok], sx[ok]]
    return accu


def pyav_load_batch(paths: list, gops: list, positions: list, modality: str, cache: bool = True) -> np.ndarray:
    """``load_batch``'s contract (accumulated) on PyAV + numpy.

    ``cache``: decode each GOP once for all requests (else, as CoViAR's loader does, decode the
    GOP's frames up to the position at every request).
    """
    out = []
    for path, gop, pos in zip(paths, gops, positions):
        if cache:
            frames, vectors = _decoded_gop(str(path), int(gop))
        else:
            frames, vectors = _decode_gop(str(path), int(gop), 0 if modality == "iframe" else int(pos))
        if modality == "iframe":
            out.append(frames[0])
            continue
        h, w = frames[0].shape[:2]
        accu = _accumulate((h, w), vectors, int(pos))
        if modality == "mv":
            ys, xs = np.mgrid[0:h, 0:w]
            out.append(np.stack([xs - accu[..., 0], ys - accu[..., 1]], -1).astype(np.int32))
        else:
            warped = frames[0][accu[..., 1], accu[..., 0]].astype(np.int16)
            out.append(frames[int(pos)].astype(np.int16) - warped)
    return np.stack(out)


# ---------------------------------------------------------------- CoViAR's own loader

COVIAR_GOP = 12  # CoViAR's dataset.py: GOP_SIZE = 12


class CoviarGops:
    """GOP boundaries the way CoViAR's dataset does: its frame count, fixed 12-frame GOPs."""

    def __init__(self, path: str) -> None:
        coviar, why = import_coviar()
        if coviar is None:
            raise RuntimeError(why)
        self.num_frames = coviar.get_num_frames(path)
        self.gop_starts = list(range(0, self.num_frames, COVIAR_GOP))


def coviar_load_batch(paths: list, gops: list, positions: list, modality: str) -> np.ndarray:
    """``load_batch``'s contract on ``coviar.load``, one call per sample."""
    coviar, why = import_coviar()
    if coviar is None:
        raise RuntimeError(why)
    rep = {"iframe": 0, "mv": 1, "residual": 2}[modality]
    out = []
    for path, gop, pos in zip(paths, gops, positions):
        a = coviar.load(str(path), int(gop), 0 if rep == 0 else int(pos), rep, True)
        out.append(a[..., ::-1] if rep == 0 else a.astype(np.int16) if rep == 2 else a)
    return np.stack(out)


# ---------------------------------------------------------------- the bench


# Peer -> (FusedDataset keyword arguments, DataLoader workers: None = --workers).
PEERS: dict[str, tuple[dict, int | None]] = {
    # FusedDataset's defaults: pkdkit.open + pkdkit.load_batch, one Rust thread per worker process.
    "pkdkit": ({}, None),
    # The same, float32 network input made in the workers (what CPU-only training would pick).
    "pkdkit-float32": ({"output": "float32"}, None),
    # No worker processes: load_batch decodes a batch on all cores (Rust threads, GIL released).
    "pkdkit-inproc": ({}, 0),
    "pyav": ({"opener": PyAVGops, "loader": pyav_load_batch}, None),
    # CoViAR's loader's way: every request decodes its GOP up to the position again.
    "pyav-percall": ({"opener": PyAVGops, "loader": functools.partial(pyav_load_batch, cache=False)}, None),
    # CoViAR's C loader, one call per representation and segment; float32 made in the workers.
    "coviar": ({"opener": CoviarGops, "loader": coviar_load_batch, "output": "float32"}, None),
}


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (Linux ``/proc``)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Forever:
    """Batches over as many epochs as needed (a small set, many timed batches); with persistent
    workers every epoch is served by the same worker processes."""

    def __init__(self, loader: DataLoader) -> None:
        self.loader, self.it = loader, iter(loader)

    def next(self) -> dict:
        try:
            return next(self.it)
        except StopIteration:
            self.it = iter(self.loader)
            return next(self.it)

    def pids(self) -> list[int]:
        """This process and the DataLoader's worker processes."""
        return [os.getpid(), *(w.pid for w in getattr(self.it, "_workers", []))]


def run_peer(name: str, root: Path, datalist: Path, args: argparse.Namespace) -> dict:
    options, workers = PEERS[name]
    workers = args.workers if workers is None else workers
    data = FusedDataset(root, datalist, args.segments, True, crop_size=args.crop, seed=0, **options)
    loader = DataLoader(
        data,
        # pkdkit's batches are built in shared memory and handed over without a copy (the PyAV
        # peers share that machinery); CoViAR's items are stacked by default_collate, as in CoViAR.
        collate_fn=None if name == "coviar" else data.collate,
        batch_size=args.batch,
        shuffle=False,
        num_workers=workers,
        persistent_workers=workers > 0,
        multiprocessing_context="fork" if workers else None,
    )
    batches = _Forever(loader)
    for _ in range(args.warmup):  # worker start-up, first opens
        normalize_batch(batches.next())
    pids = batches.pids()
    cpu = [_cpu_seconds(pid) for pid in pids]
    samples, start = 0, time.perf_counter()
    for _ in range(args.batches):
        # What a training step gets: network input (uint8 pictures normalised here, on the CPU).
        batch = normalize_batch(batches.next())
        samples += batch["label"].shape[0]
    seconds = time.perf_counter() - start
    cpu_s = sum(_cpu_seconds(pid) for pid in pids) - sum(cpu)
    rate = samples / seconds
    return {
        "peer": name, "workers": workers, "samples": samples, "seconds": seconds, "samples_per_s": rate,
        "cpu_s": cpu_s,
    }


def stage_times(root: Path, datalist: Path, args: argparse.Namespace) -> dict[str, float]:
    """Where a fused sample's time goes, in this process on one thread: ms per sample decoding
    (``load_batch``, one thread), transforming (quantise, crop, resize, flip), collating, and
    normalising the batch (``normalize_batch`` on the CPU); the fastest of ``--batches`` batches,
    the least disturbed by a loaded machine."""
    import pkdkit

    def one_thread(paths: list, gops: list, positions: list, names: tuple[str, ...]) -> dict[str, np.ndarray]:
        # What FusedDataset's default loader does (one call, one decode per sample for all
        # representations), on one thread.
        return dict(zip(names, pkdkit.load_batch(paths, gops, positions, tuple(names), threads=1)))

    data = FusedDataset(root, datalist, args.segments, True, crop_size=args.crop, seed=0)
    data._load_fused = one_thread
    spent = {"decode": 0.0, "transform": 0.0}

    def timed(stage: str, fn):
        def run(*a):
            start = time.perf_counter()
            out = fn(*a)
            spent[stage] += time.perf_counter() - start
            return out

        return run

    data._load_fused = timed("decode", data._load_fused)
    data._pictures = timed("transform", data._pictures)
    best: dict[str, float] = {}
    for b in range(args.batches + 1):  # the first batch opens the files: not timed
        spent.update(decode=0.0, transform=0.0)
        items = data.__getitems__([(b * args.batch + k) % len(data) for k in range(args.batch)])
        start = time.perf_counter()
        batch = data.collate(items)
        collated = time.perf_counter()
        normalize_batch(batch)
        stages = {**spent, "collate": collated - start, "normalise": time.perf_counter() - collated}
        if b:
            best = {k: min(best.get(k, float("inf")), v * 1e3 / args.batch) for k, v in stages.items()}
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, help="dataset root (default: a fresh synthetic set)")
    parser.add_argument("--datalist", type=Path, help="datalist under --root")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers (each decodes with 1 thread)")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--segments", type=int, default=3)
    parser.add_argument("--crop", type=int, default=224)
    parser.add_argument("--batches", type=int, default=8, help="timed batches per peer and round")
    parser.add_argument("--rounds", type=int, default=2, help="peers take turns this many times")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument(
        "--peers", default="pkdkit,pkdkit-float32,pkdkit-inproc,pyav,pyav-percall,coviar",
        help=f"from {sorted(PEERS)}",
    )
    parser.add_argument("--videos", type=int, default=32, help="size of the synthetic set (340x256, 48 frames)")
    parser.add_argument("--stages", action="store_true", help="also time decode/transform/collate on one thread")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    peers = args.peers.split(",")
    skipped = {}
    if "coviar" in peers and import_coviar()[0] is None:
        skipped["coviar"] = import_coviar()[1]
        peers.remove("coviar")
    load_start = load_average()
    with tempfile.TemporaryDirectory() as tmp:
        root, datalist = args.root, args.datalist
        if root is None:
            root = Path(tmp) / "synth"
            synth_dataset(root, 4, args.videos // 4, frames=48, seed=0, workers=os.cpu_count(), progress=False)
            datalist = Path(tmp) / "all.txt"  # train and test lists together: every video
            lists = [root / "datalists" / f"synth_split1_{side}.txt" for side in ("train", "test")]
            datalist.write_text("".join(p.read_text() for p in lists))
        # Peers take turns, round after round, so a change in the machine's load during the run
        # falls on all of them alike.
        runs = [run_peer(name, root, datalist, args) for _ in range(args.rounds) for name in peers]
        stages = stage_times(root, datalist, args) if args.stages else None
    results = []
    for name in peers:
        mine = [r for r in runs if r["peer"] == name]
        samples, seconds = sum(r["samples"] for r in mine), sum(r["seconds"] for r in mine)
        cpu_s = sum(r["cpu_s"] for r in mine)
        results.append(
            {"peer": name, "workers": mine[0]["workers"], "samples": samples, "seconds": seconds,
             "samples_per_s": samples / seconds, "rounds_samples_per_s": [r["samples_per_s"] for r in mine],
             "cpu_s": cpu_s, "samples_per_cpu_s": samples / cpu_s if cpu_s > 0 else None}
        )
    by_peer = {r["peer"]: r for r in results}
    report = {
        "machine": cpu_model(),
        "load_average": [load_start, load_average()],
        "skipped": skipped,
        "workers": args.workers,
        "batch": args.batch,
        "segments": args.segments,
        "crop": args.crop,
        "results": results,
        "stages_ms_per_sample": stages,
    }
    baselines = [b for b in ("pyav", "pyav-percall", "coviar") if b in by_peer]
    report["ratios"] = {
        r["peer"]: {b: r["samples_per_s"] / by_peer[b]["samples_per_s"] for b in baselines}
        for r in results
        if r["peer"].startswith("pkdkit")
    }
    report["cpu_ratios"] = {
        r["peer"]: {
            b: r["samples_per_cpu_s"] / by_peer[b]["samples_per_cpu_s"]
            for b in baselines
            if r["samples_per_cpu_s"] and by_peer[b]["samples_per_cpu_s"]
        }
        for r in results
        if r["peer"].startswith("pkdkit")
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(
        f"CPU {report['machine']}; {args.workers} workers, batch {args.batch}, {args.segments} segments, "
        f"crop {args.crop}; load average {report['load_average'][0]} at the start, "
        f"{report['load_average'][1]} at the end"
    )
    for r in results:
        ratios = report["ratios"].get(r["peer"], {})
        print(
            f"  {r['peer']:14s} {r['workers']} workers {r['samples_per_s']:7.2f} fused samples/s "
            f"({r['samples']} in {r['seconds']:.1f} s; rounds "
            + ", ".join(f"{v:.2f}" for v in r["rounds_samples_per_s"])
            + ")"
            + "".join(f"  {v:.1f}x {b}" for b, v in ratios.items())
        )
        cores = max(1, r["workers"]) if r["workers"] else os.cpu_count() or 1
        per_cpu = r["samples_per_cpu_s"]
        print(
            f"  {'':14s} {r['samples_per_s'] / cores:7.2f} fused samples/s per core (wall / workers); "
            + (f"{per_cpu:.2f} per CPU-second used ({r['cpu_s']:.1f} s, workers + main)" if per_cpu else "")
            + "".join(f"  {v:.1f}x {b}" for b, v in report["cpu_ratios"].get(r["peer"], {}).items())
        )
    for name, why in skipped.items():
        print(f"  {name:14s} skipped: {why}")
    if stages:
        total = sum(stages.values())
        print(
            "  pkdkit stages, one thread, ms per fused sample: "
            + ", ".join(f"{k} {v:.1f} ({v / total:.0%})" for k, v in stages.items())
        )


if __name__ == "__main__":
    main()
