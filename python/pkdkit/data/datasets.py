"""Torch datasets over CoViAR-format datalists: one modality, or all three from the same GOP.

A datalist line is ``<path relative to root> <0-based label> <frames>`` (what ``pkdkit prepare``
writes). Frames are chosen by :mod:`pkdkit.data.sampling` on each video's real GOP boundaries
(read once per video with :func:`pkdkit.open`), decoded by :func:`pkdkit.load_batch`, and
augmented and normalised by :mod:`pkdkit.data.transforms`.

``DataLoader(dataset, batch_size=B)`` calls :meth:`__getitems__` with a whole batch, which decodes
every frame of the batch in one ``load_batch`` call and transforms the batch at once. In training
a video that cannot be read is logged, counted in :attr:`damaged`, and replaced by another random
sample, so an epoch never stops on a bad file. Evaluation never replaces a sample (that would
count another video twice): a test video that cannot be read raises
:class:`EvaluationVideoError` naming it.

Randomness: with ``seed`` set, sample ``i`` of epoch ``e`` (see :meth:`set_epoch`) draws from
``numpy.random.default_rng([seed, e, i])`` whatever worker runs it; with ``seed=None`` every
draw is fresh.
"""

from __future__ import annotations

import abc
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from ..errors import VideoError
from ..vocabulary import MODALITIES
from . import transforms as T
from ._memory import keep_freed_memory_in_workers
from .sampling import coviar_positions, fused_positions

__all__ = [
    "DatalistEntry", "read_datalist", "missing_videos", "CoviarDataset", "FusedDataset", "GopIndex",
    "EvaluationVideoError",
]

log = logging.getLogger(__name__)
# Single-modality datasets also read DCT coefficients (pkdkit.dct); the fused one keeps CoViAR's three.
SINGLE_MODALITIES = (*MODALITIES, "dct")
# Errors that mean "this video is damaged": pkdkit's own only (the FFmpeg backend wraps PyAV's
# as VideoError too). A ValueError or OSError is a bug or a missing file, never skipped as damage.
DAMAGE = (VideoError,)
OUTPUTS = ("uint8", "float32")  # FusedDataset's item types


class EvaluationVideoError(RuntimeError):
    """A test video cannot be read; evaluation stops rather than count another video twice."""


@dataclass(frozen=True)
class DatalistEntry:
    """One datalist line: video path (absolute), 0-based label, frame count from the list."""

    path: str
    label: int
    num_frames: int


def read_datalist(root: str | os.PathLike[str], datalist: str | os.PathLike[str]) -> list[DatalistEntry]:
    """Parse ``<path> <label> <frames>`` lines; paths are taken relative to ``root``.

    Raises:
        FileNotFoundError: no such datalist.
        ValueError: a malformed line (file and line number in the message) or an empty list.
    """
    entries = []
    for i, line in enumerate(Path(datalist).read_text().splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
            raise ValueError(f"{datalist}:{i}: expected '<path> <label> <frames>', got {line!r}")
        entries.append(DatalistEntry(os.path.join(root, parts[0]), int(parts[1]), int(parts[2])))
    if not entries:
        raise ValueError(f"{datalist}: no videos listed")
    return entries


def missing_videos(entries: Sequence[DatalistEntry]) -> list[str]:
    """The listed video paths that are not files (checked once, before any epoch)."""
    return [entry.path for entry in entries if not os.path.isfile(entry.path)]


@dataclass(frozen=True)
class GopIndex:
    """What sampling needs of a video: frame count and GOP boundaries."""

    num_frames: int
    gop_starts: tuple[int, ...]
    gop_lengths: tuple[int, ...]

    @classmethod
    def of(cls, video: Any) -> GopIndex:
        """From anything with ``num_frames`` and ``gop_starts`` (a :class:`pkdkit.CompressedVideo`)."""
        starts = tuple(int(s) for s in video.gop_starts)
        lengths = getattr(video, "gop_lengths", None)
        if lengths is None:
            lengths = np.diff([*starts, int(video.num_frames)])
        return cls(int(video.num_frames), starts, tuple(int(n) for n in lengths))


def _default_open(path: str) -> Any:
    import pkdkit

    return pkdkit.open(path)


def _default_load_batch(paths: list[str], gops: list[int], positions: list[int], modality: str) -> np.ndarray:
    import pkdkit

    return pkdkit.load_batch(paths, gops, positions, modality, accumulate=True, threads=_loader_threads())


def _loader_threads() -> int | None:
    """In DataLoader workers, one thread each (the workers are the parallelism); in the main
    process (num_workers=0), every core."""
    return 1 if torch.utils.data.get_worker_info() is not None else None


Loader = Callable[[list, list, list, str], np.ndarray]
FusedLoader = Callable[[list, list, list, tuple[str, ...]], dict[str, np.ndarray]]


def _default_load_fused(
    paths: list[str], gops: list[int], positions: list[int], representations: tuple[str, ...]
) -> dict[str, np.ndarray]:
    """Several representations of the same samples: ``{name: (N, H, W, C) array}``.

    The one place the fused path decodes: one ``load_batch`` call for every representation, so
    each (file, GOP, position) is decoded once for its I-frame, MV and residual.
    """
    import pkdkit

    names = tuple(representations)
    arrays = pkdkit.load_batch(paths, gops, positions, names, accumulate=True, threads=_loader_threads())
    return dict(zip(names, arrays))


def _per_representation(loader: Loader) -> FusedLoader:
    """A one-representation loader as a fused one: one call per representation."""

    def load(paths: list, gops: list, positions: list, representations: tuple[str, ...]) -> dict[str, np.ndarray]:
        return {
            name: loader(paths, gops, [0] * len(gops) if name == "iframe" else positions, name)
            for name in representations
        }

    return load


class _CompressedDataset(Dataset, abc.ABC):
    """Shared machinery: datalist, GOP index cache, seeding, damaged-video replacement."""

    max_retries = 50

    def __init__(
        self,
        root: str | os.PathLike[str],
        datalist: str | os.PathLike[str] | Sequence[DatalistEntry],
        num_segments: int,
        is_train: bool,
        crop_size: int,
        seed: int | None,
        opener: Callable[[str], Any] | None,
        loader: Loader | None,
        mirror: bool = True,
    ) -> None:
        if num_segments < 1:
            raise ValueError(f"num_segments {num_segments}: must be at least 1")
        self.entries = list(datalist) if not isinstance(datalist, (str, os.PathLike)) else read_datalist(root, datalist)
        self.num_segments = num_segments
        self.is_train = is_train
        self.crop_size = crop_size
        self.mirror = mirror
        self.ten_crop = False
        self.seed = seed
        self.epoch = 0
        self.damaged: dict[str, str] = {}  # path -> error, in this process
        self._opener = opener or _default_open
        self._loader = loader or _default_load_batch
        self._index: dict[str, GopIndex] = {}

    def __len__(self) -> int:
        return len(self.entries)

    def set_epoch(self, epoch: int) -> None:
        """Draw different (still seeded) samples in each epoch."""
        self.epoch = int(epoch)

    def _rng(self, index: int, attempt: int = 0) -> np.random.Generator:
        if self.seed is None:
            return np.random.default_rng()
        return np.random.default_rng([self.seed, self.epoch, index, attempt])

    def gop_index(self, path: str) -> GopIndex:
        """The video's frame count and GOP boundaries (read once per process)."""
        if path not in self._index:
            self._index[path] = GopIndex.of(self._opener(path))
        return self._index[path]

    def _mark_damaged(self, path: str, err: Exception) -> None:
        if not self.is_train:
            raise EvaluationVideoError(
                f"{path}: test video cannot be read ({err}); evaluation never replaces a test video: "
                "repair it or remove it from the test datalist"
            ) from err
        if path not in self.damaged:
            self.damaged[path] = f"{type(err).__name__}: {err}"
            log.warning("skipping damaged video %s: %s", path, err)

    def __getitem__(self, index: int) -> Any:
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: Sequence[int]) -> list:
        """A whole batch: every frame decoded in one call per modality, transformed at once."""
        keep_freed_memory_in_workers()
        chosen = [self._plan(int(i)) for i in indices]
        try:
            return self._build(chosen)
        except DAMAGE:
            pass  # some video failed late (while decoding): find it one sample at a time
        out = []
        for i in indices:
            # Plan afresh: the same draws as the batch path gave, for the samples that load.
            attempt, plan = 0, self._plan(int(i))
            while True:
                try:
                    out.extend(self._build([plan]))
                    break
                except DAMAGE as err:
                    self._mark_damaged(plan[0].path, err)
                    attempt += 1
                    plan = self._plan(int(i), attempt)
        return out

    def _plan(self, index: int, attempt: int = 0) -> tuple[DatalistEntry, np.random.Generator, Any]:
        """The sample to load for ``index``: itself, or a replacement if its video is damaged."""
        for tries in range(attempt, attempt + self.max_retries):
            rng = self._rng(index, tries)
            entry = self.entries[index] if tries == 0 else self.entries[int(rng.integers(len(self.entries)))]
            if entry.path in self.damaged:
                continue
            try:
                return entry, rng, self._positions(self.gop_index(entry.path), rng)
            except DAMAGE as err:
                self._mark_damaged(entry.path, err)
        raise RuntimeError(
            f"{self.max_retries} damaged videos in a row while replacing sample {index}; last ones: "
            + "; ".join(f"{p}: {e}" for p, e in list(self.damaged.items())[-3:])
        )

    def _transform(self, raw: np.ndarray, modality: str, rngs: list[np.random.Generator]) -> torch.Tensor:
        """(B*T, H, W, C) raw -> (B, T, C, S, S) network input."""
        x = torch.from_numpy(np.ascontiguousarray(raw)).reshape(len(rngs), self.num_segments, *raw.shape[1:])
        if modality == "dct":
            from ..dct import dct_transform

            return dct_transform(x, rngs if self.is_train else None, self.crop_size, mirror=self.mirror)
        if self.ten_crop and not self.is_train:
            return T.ten_crop_transform(x, modality, self.crop_size)
        pictures, flip = self._pictures(x, modality, rngs)
        return T.to_network_input(pictures, modality, flip)

    def _pictures(
        self, x: torch.Tensor, modality: str, rngs: list[np.random.Generator], out: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, Any]:
        """(B, T, H, W, C) raw -> (B, T, C, S, S) uint8 pictures (into ``out`` when given) and the
        (B,) flip flags."""
        if self.is_train:
            return T.train_pictures(x, modality, rngs, self.crop_size, mirror=self.mirror, out=out)
        pictures = T.eval_pictures(x, modality, self.crop_size)
        return (pictures if out is None else out.copy_(pictures)), np.zeros(x.shape[0], bool)

    @abc.abstractmethod
    def _positions(self, gops: GopIndex, rng: np.random.Generator) -> Any:
        """The (gop, position) pairs to load for one clip."""

    @abc.abstractmethod
    def _build(self, chosen: list) -> list:
        """Load and transform the planned clips into dataset items."""


class CoviarDataset(_CompressedDataset):
    """One modality of CoViAR's training data: ``num_segments`` frames per clip.

    Args:
        root: folder the datalist paths are relative to.
        datalist: a datalist file (``<path> <label> <frames>``) or parsed entries.
        modality: ``"iframe"``, ``"mv"``, ``"residual"``, or ``"dct"``: the DCT coefficients of the
            sampled frames (any picture type, at their own positions), packed as in
            ``load_batch(..., "dct")``, cropped on whole 8x8 blocks (``crop_size // 8`` blocks a
            side; random window and exact flip in training, centre at test, zero padding when the
            grid is smaller) and scaled by :func:`pkdkit.dct.normalize` (``ten_crop`` does not
            apply).
        num_segments: TSN segments per clip (CoViAR trains with 3).
        is_train: random frame per segment + multi-scale crop + flip; else segment centres and a
            centre crop.
        crop_size: output side (224 in the paper; smaller for the demo).
        mirror: in training, flip half of the clips left-right (MV x negated), as CoViAR does.
            Turn it off for classes that mirroring turns into each other (``pkdkit synth``'s
            MoveLeft/MoveRight, clockwise/counter-clockwise rotation).
        ten_crop: at test, the ten views of CoViAR's test (five crops and their mirrors) instead of
            the centre crop; items then have an extra leading axis of 10.
        seed: see the module docstring; ``None`` = fresh randomness.
        opener: ``path -> video`` with ``num_frames`` and ``gop_starts`` (default :func:`pkdkit.open`).
        loader: ``(paths, gops, positions, modality) -> (N, H, W, C) array`` (default
            :func:`pkdkit.load_batch` with accumulation: one thread in a DataLoader worker, all
            cores in the main process).

    Items are ``(tensor, label)``: a (num_segments, C, crop_size, crop_size) float32 tensor (C = 3,
    2, 3 for iframe, mv, residual) and an int label; for ``dct`` (num_segments, 192,
    crop_size // 8, crop_size // 8).
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        datalist: str | os.PathLike[str] | Sequence[DatalistEntry],
        modality: str,
        num_segments: int = 3,
        is_train: bool = True,
        *,
        crop_size: int = 224,
        ten_crop: bool = False,
        seed: int | None = None,
        opener: Callable[[str], Any] | None = None,
        loader: Loader | None = None,
        mirror: bool = True,
    ) -> None:
        if modality not in SINGLE_MODALITIES:
            raise ValueError(f"modality {modality!r}: expected one of {SINGLE_MODALITIES}")
        super().__init__(root, datalist, num_segments, is_train, crop_size, seed, opener, loader, mirror)
        self.modality = modality
        self.ten_crop = ten_crop

    def _positions(self, gops: GopIndex, rng: np.random.Generator) -> list[tuple[int, int]]:
        return coviar_positions(
            gops.num_frames, gops.gop_starts, gops.gop_lengths, self.num_segments, self.modality, self.is_train, rng
        )

    def _build(self, chosen: list) -> list[tuple[torch.Tensor, int]]:
        paths = [entry.path for entry, _, pos in chosen for _ in pos]
        gops = [g for _, _, pos in chosen for g, _ in pos]
        positions = [p for _, _, pos in chosen for _, p in pos]
        raw = self._loader(paths, gops, positions, self.modality)
        x = self._transform(raw, self.modality, [rng for _, rng, _ in chosen])
        return [(x[i], entry.label) for i, (entry, _, _) in enumerate(chosen)]


def _batch_tensor(shape: tuple[int, ...], dtype: torch.dtype = torch.uint8) -> torch.Tensor:
    """A batch to transform into: in a DataLoader worker, in shared memory already, so that
    :meth:`FusedDataset.collate` hands it to the main process without a copy."""
    if torch.utils.data.get_worker_info() is None:
        return torch.empty(shape, dtype=dtype)
    storage = torch.UntypedStorage._new_shared(int(np.prod(shape)) * dtype.itemsize)
    return torch.empty(0, dtype=dtype).set_(storage).view(shape)


def _rows_of_one_batch(values: list[Any]) -> torch.Tensor | None:
    """The batch tensor whose consecutive rows ``values`` are (as :meth:`FusedDataset.__getitems__`
    makes them), or ``None`` when they are anything else."""
    first = values[0]
    if not isinstance(first, torch.Tensor) or not first.is_contiguous():
        return None
    storage, step = first.untyped_storage(), first.numel()
    for k, v in enumerate(values):
        if (
            not isinstance(v, torch.Tensor)
            or v.dtype != first.dtype
            or v.shape != first.shape
            or not v.is_contiguous()
            or v.untyped_storage().data_ptr() != storage.data_ptr()
            or v.storage_offset() != first.storage_offset() + k * step
        ):
            return None
    return first.new_empty(0).set_(storage, first.storage_offset(), (len(values), *first.shape))


class FusedDataset(_CompressedDataset):
    """All three modalities from the same GOPs: the PKD paper's data for training the ICs.

    Per segment: the GOP of the segment's frame; its I-frame, and MV and residual at one P
    position of that GOP (random in training, the middle one at test). Arguments as
    :class:`CoviarDataset`, and:

    output: ``"uint8"`` (default): items carry CoViAR's uint8 pictures of the crops and the
        normalisation runs on the batch, on the training device, by
        :func:`pkdkit.data.normalize_batch` (the training loop does it): workers transform a
        quarter of the bytes and ship a quarter through shared memory. ``"float32"``: items are
        the network input already, as :func:`~pkdkit.data.transforms.train_transform` makes it
        (the better choice when training on the CPU itself). ``normalize_batch`` of a uint8 batch
        equals the float32 batch bit for bit. Either way a worker writes the batch into shared
        memory, and :meth:`collate` hands it over without a copy.

    Items are dicts ``iframe`` (T, 3, S, S), ``mv`` (T, 2, S, S), ``residual`` (T, 3, S, S) and
    ``label`` int, each modality with its own crop and flip; with ``output="uint8"`` the pictures
    are uint8 and ``mv_flipped`` (bool) says whether the MV clip was mirrored (its x component is
    negated after normalisation).
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        datalist: str | os.PathLike[str] | Sequence[DatalistEntry],
        num_segments: int = 3,
        is_train: bool = True,
        *,
        crop_size: int = 224,
        seed: int | None = None,
        opener: Callable[[str], Any] | None = None,
        loader: Loader | None = None,
        mirror: bool = True,
        output: str = "uint8",
    ) -> None:
        if output not in OUTPUTS:
            raise ValueError(f"output {output!r}: expected one of {OUTPUTS}")
        super().__init__(root, datalist, num_segments, is_train, crop_size, seed, opener, loader, mirror)
        self.output = output
        # Every (file, GOP, position) of a batch goes to one call for all three representations.
        self._load_fused: FusedLoader = _default_load_fused if loader is None else _per_representation(loader)

    @staticmethod
    def collate(items: list[dict[str, Any]]) -> dict[str, Any]:
        """``default_collate`` for this dataset's items, without copying: the pictures of a batch
        are already the rows of one batch tensor (in shared memory in a worker), which is handed
        over as it is. Pass it as ``DataLoader(..., collate_fn=FusedDataset.collate)``; any other
        list of items is collated by ``default_collate`` (the same result, with a copy)."""
        from torch.utils.data import default_collate

        out = {}
        for key in items[0]:
            values = [item[key] for item in items]
            batch = _rows_of_one_batch(values)
            out[key] = default_collate(values) if batch is None else batch
        return out

    def _positions(self, gops: GopIndex, rng: np.random.Generator) -> list[tuple[int, int]]:
        g = gops
        return fused_positions(g.num_frames, g.gop_starts, g.gop_lengths, self.num_segments, self.is_train, rng)

    def _build(self, chosen: list) -> list[dict[str, Any]]:
        paths = [entry.path for entry, _, pos in chosen for _ in pos]
        gops = [g for _, _, pos in chosen for g, _ in pos]
        positions = [p for _, _, pos in chosen for _, p in pos]
        raw = self._load_fused(paths, gops, positions, MODALITIES)
        rngs = [rng for _, rng, _ in chosen]
        # Modalities in a fixed order: each clip's generator draws the I-frame's crop and flip,
        # then the MV's, then the residual's.
        pictures, flips = {}, {}
        for modality in MODALITIES:
            x = torch.from_numpy(np.ascontiguousarray(raw[modality]))
            x = x.reshape(len(rngs), self.num_segments, *x.shape[1:])
            shape = (len(rngs), self.num_segments, T.CHANNELS[modality], self.crop_size, self.crop_size)
            if self.output == "uint8":
                pictures[modality], flips[modality] = self._pictures(x, modality, rngs, _batch_tensor(shape))
            else:
                made, flips[modality] = self._pictures(x, modality, rngs)
                out = _batch_tensor(shape, torch.float32)
                pictures[modality] = T.to_network_input(made, modality, flips[modality], out)
        if self.output == "float32":
            return [{**{m: pictures[m][i] for m in MODALITIES}, "label": e.label} for i, (e, _, _) in enumerate(chosen)]
        return [
            {**{m: pictures[m][i] for m in MODALITIES}, T.FLIP_KEY: bool(flips["mv"][i]), "label": entry.label}
            for i, (entry, _, _) in enumerate(chosen)
        ]
