"""In-memory array datasets and the batch loader that indexes them (no per-sample Dataset/DataLoader)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Iterator

import torch
from torch import Tensor


@dataclass
class DataSpec:
    """What a model and the trainer need to know about a dataset."""

    name: str
    task: str
    """"classification" (integer labels, cross-entropy) or "regression" (float targets, MSE)."""
    input_shape: tuple[int, ...]
    """Shape of one sample as the model sees it: (C, H, W) for images, (T, F) for sequences."""
    num_outputs: int
    """Classes for classification; target features (per step for sequences) for regression."""
    classes: list[str] = field(default_factory=list)
    scale: float = 1.0
    """Raw stored values are multiplied by this after conversion to float (1/255 for uint8 images)."""
    kind: str = "image"
    """"image", "sequence" or "vector": decides plots and which models fit."""
    per_step: bool = False
    """Regression targets per time step (T, F) rather than one per sequence."""
    embedded: list[int] = field(default_factory=list)
    """Tables: codes per embedded category column; the last len(embedded) input features are those codes."""
    target_mean: float = 0.0
    """Tables, regression: the training targets' mean; the model's outputs are shifted by it ..."""
    target_std: float = 1.0
    """... and scaled by this, so it learns standardised targets while the loss and metrics stay in the
    target's units."""
    variable_length: bool = False
    """Some sequences are shorter than input_shape[0]: NaN steps (every feature NaN) follow their end."""
    forecast: dict[str, Any] = field(default_factory=dict)
    """Forecast windows (`forecast:`): column, window, horizon, season, the MASE scale, the test span and the
    naive / seasonal-naive baselines on it."""
    extent: list[float] = field(default_factory=list)
    """A plane (input_shape (2,), kind "vector": the 2-D toy sets, a two-feature table): [x_min, x_max, y_min,
    y_max], the box holding every sample as the model sees it plus a margin, over which a decision boundary is
    drawn (`zenlearn.data.toy.plane_grid`); `load_splits` fills it in. Empty for other data."""

    @classmethod
    def from_dict(cls, d: dict) -> "DataSpec":
        """A spec from a run folder's `data.json`: keys this version does not know (a folder written by a newer
        zenlearn) are ignored rather than read as corruption; a missing required key is a `TypeError`.

        Example:
            >>> DataSpec.from_dict({"name": "x", "task": "regression", "input_shape": [3], "num_outputs": 1,
            ...                     "from_the_future": 1}).input_shape
            (3,)
        """
        known = {f.name for f in fields(cls)}
        kept = {k: v for k, v in d.items() if k in known}
        if "input_shape" in kept:
            kept["input_shape"] = tuple(kept["input_shape"])
        return cls(**kept)


def epoch_order(n: int, seed: int, epoch: int, shuffle: bool = True) -> Tensor:
    """The order of `n` samples in epoch `epoch`: a permutation from a generator seeded with (seed, epoch), so any
    epoch (and any batch in it) can be reproduced on resume; `arange(n)` without shuffling. Every loader uses it.

    Example:
        >>> torch.equal(epoch_order(5, seed=1, epoch=2), epoch_order(5, seed=1, epoch=2)), epoch_order(3, 0, 0, False)
        (True, tensor([0, 1, 2]))
    """
    if not shuffle:
        return torch.arange(n)
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch))


def series_lengths(x: Tensor) -> Tensor:
    """(N,) steps of each series of `x` (N, T, F) before its NaN padding: its last step holding any number, plus
    one (at least 1), the length the sequence models read (`zenlearn.nn.masking.unpad`).

    Example:
        >>> series_lengths(torch.tensor([[[1.0], [float("nan")]], [[1.0], [2.0]]])).tolist()
        [1, 2]
    """
    steps = torch.arange(1, x.shape[1] + 1, device=x.device)  # (T,)
    return ((~x.isnan().all(-1)) * steps).amax(1).clamp_min(1)  # (N,)


BUCKET_CHUNK = 50
"""Batches per chunk of `bucket_order`: the epoch's order is sorted by length within each chunk."""


def bucket_order(lengths: Tensor, batch_size: int, seed: int, epoch: int) -> Tensor:
    """Epoch `epoch`'s order of the samples, in batches of series of similar length: the epoch's permutation
    (`epoch_order`) cut into chunks of `BUCKET_CHUNK` batches, each chunk sorted by length (stably, so ties keep
    the permutation's order) and cut into batches, then the whole batches shuffled (`epoch_order` with seed + 1;
    a short batch stays last, for `drop_last`). The same (seed, epoch) gives the same order, so resume is exact.

    Example:
        >>> lengths = torch.tensor([5, 1, 4, 2, 3, 1])
        >>> order = bucket_order(lengths, 2, seed=0, epoch=0)
        >>> sorted(order.tolist()), [lengths[b].tolist() for b in order.split(2)]
        ([0, 1, 2, 3, 4, 5], [[2, 3], [4, 5], [1, 1]])
    """
    n = len(lengths)
    perm = epoch_order(n, seed, epoch)
    chunk = BUCKET_CHUNK * batch_size
    parts = [perm[i : i + chunk] for i in range(0, n, chunk)]
    order = torch.cat([p[lengths[p].cpu().argsort(stable=True)] for p in parts])  # (N,) sorted within chunks
    batches = list(order[: n - n % batch_size].split(batch_size)) if n >= batch_size else []
    shuffled = [batches[b] for b in epoch_order(len(batches), seed + 1, epoch).tolist()]
    return torch.cat([*shuffled, order[n - n % batch_size :]])


@dataclass
class ArrayData:
    """Samples `x` (N, …) and targets `y` (N, …) held as tensors (uint8 for images, to save memory)."""

    x: Tensor
    y: Tensor

    def __len__(self) -> int:
        return self.x.shape[0]

    def take(self, idx: Tensor) -> "ArrayData":
        return ArrayData(rows(self.x, idx), rows(self.y, idx))

    def to(self, device: torch.device | str) -> "ArrayData":
        return ArrayData(self.x.to(device), self.y.to(device))


@dataclass
class Splits:
    """A dataset split into train / validation / test, plus its spec."""

    spec: DataSpec
    train: ArrayData
    val: ArrayData | None
    test: ArrayData
    preprocess: Any = None
    """Tables: the `TablePreprocess` fitted on the training split (saved in the run folder); else None."""

    # The data protocol, which `FolderSplits` implements too: the trainer, reports and workflows call these
    # instead of asking which kind of splits they hold.
    def loader(self, data: ArrayData, batch_size: int, *, shuffle: bool = False, seed: int = 0, rank: int = 0,
               world_size: int = 1, uint8: bool = False, bucket: bool = False) -> "BatchLoader":
        """A loader over one split (`data`): seeded, resumable batches; a rank's shard with `world_size` > 1.
        (`uint8` is for image folders, whose augmented batches stay pixels; in-memory data converts itself.
        `bucket`: variable-length series are batched by length and trimmed, see `BatchLoader`; other data
        ignores it.)"""
        bucket = bucket and self.spec.variable_length and not self.spec.per_step
        return BatchLoader(data, batch_size, scale=self.spec.scale, shuffle=shuffle, seed=seed, rank=rank,
                           world_size=world_size, bucket=bucket)

    def labels(self, data: ArrayData) -> Tensor:
        """The targets of one split."""
        return data.y

    def images(self, data: ArrayData) -> Tensor:
        """One split's raw samples, indexable (`x[idx]`)."""
        return data.x

    def summary_fields(self) -> dict[str, Any]:
        """What the dataset adds to `summary.json` at its top level: nothing for in-memory data."""
        return {}

    def data_fields(self) -> dict[str, Any]:
        """What the dataset adds to `summary.json`'s "data" block: the training images' mean value as the model
        sees it (in [0, 1]; `predict` warns about inputs of the opposite polarity), for image data."""
        if self.spec.kind != "image" or not len(self.train):
            return {}
        x = self.train.x
        return {"mean": float(x.sum(dtype=torch.float64)) / x.numel() * self.spec.scale}


def rows(x: Tensor, idx: Tensor) -> Tensor:
    """`x[idx]` for a 1-D index tensor: `index_select` copies whole rows (7x faster than advanced
    indexing for a batch of 64 MNIST images, which gathers element by element); sources that are not
    tensors (image folders decoded on access) are indexed as they are."""
    return x.index_select(0, idx) if isinstance(x, Tensor) else x[idx]


def split(data: ArrayData, val_fraction: float, seed: int, *,
          ordered: bool = False) -> tuple[ArrayData, ArrayData | None]:
    """Deterministic train/validation split: a seeded permutation, the first `val_fraction` held out; with
    `ordered` (samples in time order), the last `val_fraction` is held out, so no validation sample precedes
    a training one.

    Example:
        >>> train, val = split(ArrayData(torch.arange(10), torch.arange(10)), 0.2, 0, ordered=True)
        >>> val.x.tolist()
        [8, 9]
    """
    n_val = int(round(len(data) * val_fraction))
    if n_val == 0:
        return data, None
    if ordered:
        return data.take(torch.arange(len(data) - n_val)), data.take(torch.arange(len(data) - n_val, len(data)))
    perm = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))
    val_idx, train_idx = perm[:n_val].sort().values, perm[n_val:].sort().values
    return data.take(train_idx), data.take(val_idx)


def subset(data: ArrayData, n: int, seed: int) -> ArrayData:
    """A seeded random subset of `n` samples (all of them when `n >= len(data)`)."""
    if n >= len(data):
        return data
    perm = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed + 1))
    return data.take(perm[:n].sort().values)


def to_float(x: Tensor, scale: float) -> Tensor:
    """Raw stored batch → float32 model input."""
    if scale == 1.0:
        return x.to(torch.float32)
    return x.to(torch.float32).mul_(scale) if x.dtype != torch.float32 else x * scale


class BatchLoader:
    """Batches taken by index from a per-epoch permutation, converted to float as a whole batch.

    The permutation of epoch `e` comes from a generator seeded with `(seed, e)`, so any epoch (and any
    batch inside it) can be reproduced on resume. With `world_size > 1` each rank takes its strided
    shard of the same permutation (data-parallel training).

    Args:
        data: Samples and targets, ideally already on the training device.
        batch_size: Samples per batch.
        scale: Multiplier applied after float conversion. Defaults to 1.0.
        shuffle: Shuffle every epoch. Defaults to False.
        seed: Base seed of the permutations. Defaults to 0.
        drop_last: Drop a final incomplete batch. Defaults to False.
        rank: This process's rank. Defaults to 0.
        world_size: Number of data-parallel processes. Defaults to 1.
        bucket: `data.x` holds (N, T, F) series padded with NaN steps: each batch is cut to its longest series'
            length, and, when shuffling, holds series of similar length (`bucket_order`). Defaults to False.

    Example:
        >>> loader = BatchLoader(ArrayData(torch.zeros(10, 3), torch.zeros(10)), 4, shuffle=True)
        >>> [len(x) for x, y in loader]
        [4, 4, 2]
    """

    def __init__(self, data: ArrayData, batch_size: int, *, scale: float = 1.0, shuffle: bool = False,
                 seed: int = 0, drop_last: bool = False, rank: int = 0, world_size: int = 1,
                 bucket: bool = False) -> None:
        self.data, self.batch_size, self.scale = data, batch_size, scale
        self.lengths = series_lengths(data.x).cpu() if bucket else None  # (N,)
        self.shuffle, self.seed, self.drop_last = shuffle, seed, drop_last
        self.rank, self.world_size = rank, world_size
        self.epoch = 0
        self.skip = 0  # batches to skip at the start of the next iteration (mid-epoch resume)
        self.last_batch: tuple[Tensor, Tensor] | None = None  # (indices, inputs) of the batch just yielded

    def set_epoch(self, epoch: int, skip_batches: int = 0) -> None:
        self.epoch, self.skip = epoch, skip_batches

    def indices(self) -> Tensor:
        n = len(self.data)
        if self.lengths is not None and self.shuffle:  # the global batch (all ranks' shards) is one bucket
            idx = bucket_order(self.lengths, self.batch_size * self.world_size, self.seed, self.epoch)
        else:
            idx = epoch_order(n, self.seed, self.epoch, self.shuffle)
        if self.world_size > 1:
            idx = idx[: n - n % self.world_size][self.rank :: self.world_size]
        return idx.to(self.data.x.device)

    def __len__(self) -> int:
        n = len(self.data) // self.world_size
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        idx = self.indices()
        skip, self.skip = self.skip, 0
        for b in range(skip, len(self)):
            i = idx[b * self.batch_size : (b + 1) * self.batch_size]  # (B,)
            x = rows(self.data.x, i)
            if self.lengths is not None:
                x = x[:, : int(self.lengths[i.cpu()].max())]  # (B, longest series in the batch, F)
            x = to_float(x, self.scale)
            self.last_batch = (i, x)  # lets a loss find per-sample caches (distillation's teacher logits)
            yield x, rows(self.data.y, i)
