"""Class-per-folder image datasets (`--data folder:PATH`), decoded in worker processes and streamed.

Layouts (Keras `flow_from_directory`): `PATH/<class>/**/*.png` with a seeded, per-class `--val-split`,
or `PATH/train/<class>/…` plus `PATH/val/<class>/…` (or `validation/`) and optionally `PATH/test/<class>/…`.
Without a test folder the validation split doubles as the test split. Classes are the sorted subfolder
names; they only ever become labels (data.json, predictions), never paths that zenlearn writes to.

Only file paths are held in memory; images are decoded batch by batch in a pool of worker processes with
a bounded number of batches in flight, so memory does not grow with the folder size.
"""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
from torch import Tensor

from zenlearn.data.arrays import DataSpec, epoch_order
from zenlearn.data.cache import CACHE_MODES, DecodedCache
from zenlearn.data.decode import decode_batch, decoding_pool
from zenlearn.data.files import IMAGE_SUFFIXES
from zenlearn.errors import UsageError

SPLIT_NAMES = {"train": ("train",), "val": ("val", "validation"), "test": ("test",)}
COLORS = {"rgb": 3, "grayscale": 1}
CLASS_MODES = ("categorical", "binary")


@dataclass
class ImageFiles:
    """Image paths and integer labels of one split (no pixels: those are decoded when batched)."""

    paths: list[str]
    labels: list[int]

    def __len__(self) -> int:
        return len(self.paths)

    def take(self, idx: list[int]) -> "ImageFiles":
        return ImageFiles([self.paths[i] for i in idx], [self.labels[i] for i in idx])


@dataclass
class FolderSplits:
    """An image folder split into train / val / test file lists, plus its spec and the decoding options."""

    spec: DataSpec
    train: ImageFiles
    val: ImageFiles | None
    test: ImageFiles
    workers: int = 0
    skip_bad_images: bool = False
    skipped: set[str] = field(default_factory=set)
    """Files that could not be decoded and were skipped (with `skip_bad_images`)."""
    cache: str = "off"
    """Decoded cache: "auto", "memory", "disk" or "off" (see `zenlearn.data.cache`)."""
    cache_folder: Path | None = None
    """Where the cache file goes. Defaults to `cache.cache_folder()`."""
    _decoded: dict[tuple[str, ...], DecodedCache] = field(default_factory=dict, repr=False)

    def decoded(self, files: ImageFiles) -> DecodedCache | None:
        """The decoded cache of `files` (one split), or None with cache="off".

        Each split has its own cache, keyed by its own file list: the test split is decoded once for every
        seed, variant and training subset that shares it (a comparison over 5 seeds of `--train-subset 20`
        decodes its 1,000 test photos once, not 5 times). Nothing is decoded until a loader first iterates.
        """
        if self.cache == "off":
            return None
        key = tuple(files.paths)
        if key not in self._decoded:
            self._decoded[key] = DecodedCache(files.paths, self.spec.input_shape, mode=self.cache,
                                              folder=self.cache_folder, workers=self.workers,
                                              skip_bad_images=self.skip_bad_images)
        return self._decoded[key]

    def labels(self, files: ImageFiles) -> Any:
        """The class labels of one split."""
        return files.labels

    def summary_fields(self) -> dict[str, Any]:
        """What the dataset adds to `summary.json`: the unreadable images skipped (--skip-bad-images)."""
        return {"skipped_images": len(self.skipped), "skipped_files": sorted(self.skipped)}

    def data_fields(self) -> dict[str, Any]:
        """What the dataset adds to `summary.json`'s "data" block: nothing (the images are never all loaded)."""
        return {}

    def images(self, files: ImageFiles) -> "ImagesOnDemand":
        """`files` (minus skipped ones) as an indexable uint8 image array, decoded only when indexed."""
        kept = [i for i, p in enumerate(files.paths) if p not in self.skipped]
        return ImagesOnDemand(files.take(kept), self.spec.input_shape)

    def loader(self, files: ImageFiles, batch_size: int, *, shuffle: bool = False, seed: int = 0, rank: int = 0,
               world_size: int = 1, uint8: bool = False, bucket: bool = False) -> "FolderLoader":
        """A `FolderLoader` over `files` (with this folder's decoding options and cache); `uint8`: batches of
        pixels, for a trainer that augments them. Folders stream from one process (no `world_size` > 1).
        (`bucket` is for variable-length series; images of one size ignore it.)"""
        if world_size > 1:
            raise UsageError("image folders (--data folder:PATH) stream from one process; train them without "
                             "data parallelism (one process / GPU)")
        return FolderLoader(files, batch_size, self.spec.input_shape, shuffle=shuffle, seed=seed,
                            workers=self.workers, skip_bad_images=self.skip_bad_images, skipped=self.skipped,
                            cache=self.decoded(files), uint8=uint8)


class ImagesOnDemand:
    """`x[idx]` → uint8 (n, C, H, W) tensor of those files, decoded on access (reports pick a few test
    images without loading the whole split)."""

    device = torch.device("cpu")

    def __init__(self, files: ImageFiles, shape: tuple[int, ...]) -> None:
        self.files, self.shape = files, tuple(shape)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, idx: Tensor | list[int]) -> Tensor:
        idx = idx.tolist() if isinstance(idx, Tensor) else list(idx)
        arrays, bad = decode_batch([self.files.paths[i] for i in idx], self.shape)
        return torch.from_numpy(np.ascontiguousarray(arrays.transpose(0, 3, 1, 2)))


def list_images(folder: Path) -> list[Path]:
    """Image files under `folder` (recursively, sorted; hidden files and folders skipped)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        out += [Path(dirpath) / f for f in sorted(filenames)
                if not f.startswith(".") and Path(f).suffix.lower() in IMAGE_SUFFIXES]
    return out


def class_folders(root: Path) -> list[str]:
    return sorted(e.name for e in os.scandir(root) if e.is_dir() and not e.name.startswith("."))


def scan_classes(root: Path, classes: list[str] | None = None) -> tuple[ImageFiles, list[str]]:
    """All images of `root/<class>/…`; `classes` fixes the label order (the train split's classes)."""
    found = class_folders(root)
    classes = found if classes is None else classes
    extra = sorted(set(found) - set(classes))
    if extra:
        raise UsageError(f"{root}: class folder(s) {', '.join(map(repr, extra))} are not in the training classes "
                         f"({', '.join(classes)}); rename or remove them")
    paths, labels = [], []
    for label, name in enumerate(classes):
        if (root / name).is_dir():
            files = list_images(root / name)
            paths += [str(p) for p in files]
            labels += [label] * len(files)
    return ImageFiles(paths, labels), classes


def stratified_split(files: ImageFiles, fraction: float, seed: int) -> tuple[ImageFiles, ImageFiles | None]:
    """Seeded per-class split: round(fraction * n_class) files of every class go to validation."""
    if fraction <= 0:
        return files, None
    g = torch.Generator().manual_seed(seed)
    labels = torch.tensor(files.labels)
    train_idx, val_idx = [], []
    for c in labels.unique().tolist():
        idx = (labels == c).nonzero().flatten()
        idx = idx[torch.randperm(len(idx), generator=g)].tolist()
        n_val = int(round(len(idx) * fraction))
        val_idx += idx[:n_val]
        train_idx += idx[n_val:]
    return files.take(sorted(train_idx)), files.take(sorted(val_idx)) if val_idx else None


def load_folder(path: str, *, image_size: tuple[int, ...] | None = None, color: str = "rgb",
                class_mode: str = "categorical", val_split: float = 0.1, seed: int = 0,
                train_subset: int | None = None, workers: int | None = None,
                skip_bad_images: bool = False, cache: str = "off", cache_folder: str | Path | None = None) -> FolderSplits:
    """Scan an image folder into train / val / test file lists (nothing is decoded yet).

    Args:
        path: Root folder: `<class>/…` sub-folders, or `train/` (+ `val/`, `test/`) holding them.
        image_size: (H, W) every image is resized to. Defaults to the size of the first training image.
        color: "rgb" (3 channels) or "grayscale" (1). Defaults to "rgb".
        class_mode: "categorical" (any number of classes) or "binary" (exactly two, labels 0/1).
            Defaults to "categorical".
        val_split: Fraction of each class held out when there is no `val/` folder. Defaults to 0.1.
        seed: Seed of that split and of `train_subset`. Defaults to 0.
        train_subset: Keep a seeded random subset of this many training files. Defaults to all.
        workers: Decoding processes; 0 decodes in this process. Defaults to min(4, CPUs).
        skip_bad_images: Skip (and count) unreadable images instead of stopping. Defaults to False.
        cache: Decode once into a uint8 cache at the target size: "auto", "memory", "disk" or "off"
            (`zenlearn.data.cache`). Defaults to "off" (`zenlearn train` defaults to "auto").
        cache_folder: Folder of the cache files. Defaults to folder-cache/ in the cache folder ($ZENLEARN_CACHE, else ~/.cache/zenlearn).

    Example:
        >>> s = load_folder(photos, image_size=(16, 16), val_split=0.5)  # 2 classes x 3 images
        >>> s.spec.classes, len(s.train), len(s.val)
        (['cats', 'dogs'], 2, 4)
    """
    root = Path(path).expanduser()
    if not root.is_dir():
        raise UsageError(f"--data folder:{path}: {root} is not a folder; pass a folder with one sub-folder per "
                         f"class (or train/ and val/ sub-folders holding them)")
    if color not in COLORS:
        raise UsageError(f"--color must be one of {', '.join(COLORS)}, got {color!r}")
    if cache not in CACHE_MODES:
        raise UsageError(f"--cache must be one of {', '.join(CACHE_MODES)}, got {cache!r}")
    if class_mode not in CLASS_MODES:
        raise UsageError(f"--class-mode must be one of {', '.join(CLASS_MODES)}, got {class_mode!r}")
    split_dirs = {k: next((root / n for n in names if (root / n).is_dir()), None) for k, names in SPLIT_NAMES.items()}
    if split_dirs["train"] is not None:
        train, classes = scan_classes(split_dirs["train"])
        if split_dirs["val"] is not None:
            val = scan_classes(split_dirs["val"], classes)[0]
        else:
            train, val = stratified_split(train, val_split, seed)
        test = scan_classes(split_dirs["test"], classes)[0] if split_dirs["test"] is not None else val
    else:
        train, classes = scan_classes(root)
        train, val = stratified_split(train, val_split, seed)
        test = val
    where = split_dirs["train"] or root
    if len(classes) < 2:
        raise UsageError(f"--data folder:{path}: found {len(classes)} class folder(s) in {where}; a classifier "
                         f"needs at least 2 (one sub-folder of images per class)")
    if class_mode == "binary" and len(classes) != 2:
        raise UsageError(f"--class-mode binary needs exactly 2 class folders, {where} has {len(classes)} "
                         f"({', '.join(classes[:5])}{', …' if len(classes) > 5 else ''}); use categorical")
    if not len(train):
        raise UsageError(f"--data folder:{path}: no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in the class "
                         f"folders of {where}")
    if test is None or not len(test):
        raise UsageError(f"--data folder:{path}: nothing to evaluate on: add a test/ or val/ folder, or use "
                         f"--val-split > 0")
    if train_subset is not None and train_subset < len(train):
        perm = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed + 1))
        train = train.take(sorted(perm[:train_subset].tolist()))
    if image_size is None:
        image_size = _first_size(train.paths, skip_bad_images)
    if len(image_size) != 2 or min(image_size) < 1:
        raise UsageError(f"--image-size expects H,W (two positive integers), got {','.join(map(str, image_size))}")
    shape = (COLORS[color], int(image_size[0]), int(image_size[1]))
    spec = DataSpec(f"folder:{path}", "classification", shape, len(classes), classes, scale=1 / 255, kind="image")
    n_workers = min(4, os.cpu_count() or 1) if workers is None else max(0, int(workers))
    return FolderSplits(spec, train, val, test, n_workers, skip_bad_images, cache=cache,
                        cache_folder=Path(cache_folder).expanduser() if cache_folder else None)


def _first_size(paths: list[str], skip_bad: bool) -> tuple[int, int]:
    from PIL import Image

    for p in paths:
        try:
            with Image.open(p) as im:
                return im.size[1], im.size[0]
        except (OSError, ValueError, SyntaxError) as e:
            if not skip_bad:
                raise UsageError(f"{p}: cannot read image ({e}); fix or remove it, or pass --skip-bad-images") from None
    raise UsageError("no readable image found to take --image-size from; pass --image-size H,W")


class FolderLoader:
    """Streams float batches (B, C, H, W) in [0, 1] (channels-last in memory) and int64 labels from image files.

    Same interface as `BatchLoader`: a seeded per-epoch permutation (`set_epoch(epoch, skip_batches)`
    reproduces any epoch and batch), `len()` in batches. Batches are decoded by `workers` processes,
    at most `2 * workers` batches ahead of the consumer.

    Args:
        files: Paths and labels.
        batch_size: Files per batch.
        shape: (C, H, W) every image is converted and resized to.
        shuffle: Shuffle every epoch. Defaults to False.
        seed: Base seed of the permutations. Defaults to 0.
        workers: Decoding processes; 0 decodes in this process. Defaults to 0.
        skip_bad_images: Drop unreadable files from their batch (recorded in `skipped`) instead of raising.
            Defaults to False.
        skipped: Set that collects skipped paths. Defaults to a new set.
        cache: Read rows of this decoded cache (built on the first iteration) instead of decoding files.
            Defaults to None (decode every batch).
        uint8: Yield the uint8 pixels (0–255) instead of floats in [0, 1], for an `Augment` to take as they
            are: it resamples them in uint8 (with OpenCV when installed) and returns floats in [0, 1]. The
            `Trainer` hands training batches to its `augment` first. Defaults to False.

    Example:
        >>> s = load_folder(photos, image_size=(16, 16), val_split=0.5)
        >>> x, y = next(iter(FolderLoader(s.val, 4, (3, 16, 16))))
        >>> tuple(x.shape), sorted(y.tolist())
        ((4, 3, 16, 16), [0, 0, 1, 1])
    """

    def __init__(self, files: ImageFiles, batch_size: int, shape: tuple[int, ...], *, shuffle: bool = False,
                 seed: int = 0, workers: int = 0, skip_bad_images: bool = False,
                 skipped: set[str] | None = None, cache: DecodedCache | None = None, uint8: bool = False) -> None:
        self.files, self.batch_size, self.shape, self.uint8 = files, batch_size, tuple(shape), uint8
        self.shuffle, self.seed, self.workers = shuffle, seed, workers
        self.skip_bad_images = skip_bad_images
        self.skipped = set() if skipped is None else skipped
        self.cache = cache
        self.epoch, self.skip = 0, 0
        self.submitted = 0  # batches handed to the decoder so far (tests check the look-ahead bound)

    def set_epoch(self, epoch: int, skip_batches: int = 0) -> None:
        self.epoch, self.skip = epoch, skip_batches

    def __len__(self) -> int:
        return -(-len(self.files) // self.batch_size)

    def batches(self) -> list[list[int]]:
        n = len(self.files)
        idx = epoch_order(n, self.seed, self.epoch, self.shuffle).tolist()
        return [idx[i : i + self.batch_size] for i in range(0, n, self.batch_size)]

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        skip, self.skip = self.skip, 0
        todo = iter(self.batches()[skip:])
        if self.cache is not None:
            yield from self._cached(todo)
            return
        if self.workers == 0:
            for idx in todo:
                self.submitted += 1
                arrays, bad = decode_batch([self.files.paths[i] for i in idx], self.shape)
                batch = self._finish(idx, arrays.transpose(0, 3, 1, 2), bad)
                if batch is not None:
                    yield batch
            return
        pool = decoding_pool(self.workers)
        try:
            pending: deque = deque()

            def submit() -> None:
                idx = next(todo, None)
                if idx is not None:
                    self.submitted += 1
                    paths = [self.files.paths[i] for i in idx]
                    pending.append((idx, pool.apply_async(decode_batch, (paths, self.shape))))

            for _ in range(2 * self.workers):
                submit()
            while pending:
                idx, result = pending.popleft()
                arrays, bad = result.get()
                submit()
                batch = self._finish(idx, arrays.transpose(0, 3, 1, 2), bad)
                if batch is not None:
                    yield batch
        finally:
            pool.terminate()
            pool.join()

    def _cached(self, todo: Iterator[list[int]]) -> Iterator[tuple[Tensor, Tensor]]:
        cache = self.cache.ensure()
        for idx in todo:
            self.submitted += 1
            paths = [self.files.paths[i] for i in idx]
            bad = [(i, cache.bad[p]) for i, p in enumerate(paths) if p in cache.bad]
            rows = [cache.row[p] for p in paths]
            batch = self._finish(idx, cache.take(rows), bad)
            if batch is not None:
                yield batch

    def _finish(self, idx: list[int], arrays: np.ndarray, bad: list[tuple[int, str]]) -> tuple[Tensor, Tensor] | None:
        """(B, C, H, W) uint8 rows (a channels-last view) → the batch, minus (or stopping at) unreadable files."""
        labels = torch.tensor([self.files.labels[i] for i in idx], dtype=torch.int64)
        if bad:
            if not self.skip_bad_images:
                raise UsageError(bad[0][1].replace("; pass a valid PNG/JPEG/BMP file",
                                                   "; fix or remove the file, or pass --skip-bad-images"))
            self.skipped.update(self.files.paths[idx[i]] for i, _ in bad)
            keep = np.setdiff1d(np.arange(len(idx)), [i for i, _ in bad])
            if not len(keep):
                return None
            arrays, labels = arrays[keep], labels[torch.from_numpy(keep)]
        x = torch.from_numpy(arrays)  # (B, C, H, W) uint8, channels-last
        if not self.uint8:
            x = x.to(torch.float32).mul_(1 / 255)  # in [0, 1], still channels-last (oneDNN's layout)
        return x, labels
