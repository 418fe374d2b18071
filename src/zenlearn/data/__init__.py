"""Datasets by name (`DATASETS`), loaded into memory and split into train / validation / test; a plane's spec
(two features: the 2-D toy sets of `toy.py`, a two-column table) carries its extent."""

from __future__ import annotations

import glob
import inspect
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from zenlearn.data.arrays import ArrayData, BatchLoader, DataSpec, Splits, split, subset, to_float
from zenlearn.data.cifar import cifar10, cifar100
from zenlearn.data.folder import FolderLoader, FolderSplits, load_folder
from zenlearn.data.forecast import BUILT_IN, forecast
from zenlearn.data.mnist import fashion_mnist, mnist
from zenlearn.data.mnist1d import mnist1d
from zenlearn.data.photos import load_photos
from zenlearn.data.series import series, ucr
from zenlearn.data.sine import sine
from zenlearn.data.tables import load_npz, load_sklearn, load_table
from zenlearn.data.toy import TOYS, plane_extent, plane_grid, toy_loader
from zenlearn.errors import UsageError
from zenlearn.registry import Registry

Loader = Callable[..., tuple[ArrayData, ArrayData, DataSpec]]
DataSplits = Splits | FolderSplits
"""A dataset split into train / val / test: in memory (`Splits`) or streamed from an image folder
(`FolderSplits`). Both answer the one protocol: `spec`, `train` / `val` / `test`, `loader(split, batch_size,
shuffle=…, seed=…, bucket=…)`, `labels`, `images`, `summary_fields`, `data_fields` and `preprocess`; code outside `data/`
uses only these and never asks which of the two it has."""


@dataclass(frozen=True)
class DatasetInfo:
    """How a dataset is read: `streaming` ones (image folders) are scanned and decoded batch by batch."""

    streaming: bool = False
    path_argument: bool = False
    """`--data NAME:PATH` names the folder (`folder:`) or the files (`series:`, a folder or a file stem);
    otherwise the loader finds or makes it (`photos`)."""
    built_in: tuple[str, ...] = ()
    """Arguments that name a built-in dataset rather than a path (`forecast:airline`)."""
    ordered: bool = False
    """Samples are in time order: validation is the last `val_split` of the training set, not a random draw."""
    tabular: bool = False
    """A table (`table:PATH`, `npz:PATH`, `sklearn:NAME`): the loader holds out the test and validation rows
    itself and fits the preprocessing on the training rows; it takes the table options (`TABLE_OPTIONS`)."""


FOLDER_OPTIONS = ("image_size", "color", "class_mode", "decode_workers", "skip_bad_images", "cache")
"""The config fields an image folder's loader takes (`decode_workers` is the loader's `workers`)."""
TABLE_OPTIONS = ("target", "task", "test_data", "test_split", "drop", "categorical")
"""The config fields a table dataset's loader takes (with `preprocess`, a finished run's saved one)."""
SERIES_OPTIONS = ("normalize", "column", "window", "horizon", "season")
"""The config fields the time-series loaders take, each loader those of its keyword parameters (`series_options`)."""


DATA_OPTIONS = FOLDER_OPTIONS + TABLE_OPTIONS + SERIES_OPTIONS
"""Every config field that some dataset takes; each dataset takes those of `dataset_options`."""


DATASETS: Registry[Loader] = Registry("dataset")
DATASETS.add("mnist", mnist, "MNIST handwritten digits, 60k train / 10k test, 28x28 grayscale, 10 classes")
DATASETS.add("fashion-mnist", fashion_mnist, "Fashion-MNIST clothing images, 60k/10k, 28x28 grayscale, 10 classes",
             aliases=("fashion_mnist", "fmnist"))
DATASETS.add("cifar10", cifar10, "CIFAR-10 photos, 50k train / 10k test, 32x32 RGB, 10 classes (official binary archive)",
             aliases=("cifar-10",))
DATASETS.add("cifar100", cifar100, "CIFAR-100 photos, 50k/10k, 32x32 RGB, 100 fine-label classes (official binary "
             "archive)", aliases=("cifar-100",))
DATASETS.add("mnist1d", mnist1d, "MNIST-1D (Greydanus 2020): 4k train / 1k test sequences of 40 steps, 10 classes; "
             "generated locally, no download", aliases=("mnist-1d",))
DATASETS.add("sine", sine, "the survey's RNN task: 5 steps x 2 features of a random sine wave, predict the next "
             "value at every step (regression, MSE); 10k / 2k, generated")
DATASETS.add("folder", load_folder, "your images, one sub-folder per class (or train/ val/ test/): --data folder:PATH; "
             "streamed from disk (--image-size, --color, --class-mode, --skip-bad-images)",
             info=DatasetInfo(streaming=True, path_argument=True))
DATASETS.add("photos", load_photos, "real JPEG photos, objects vs textures, train/ and test/ of N per class (photos:N, "
             "default 500), generated once from scikit-image's bundled photographs (zenlearn[photos]); a folder "
             "dataset at 224x224 unless --image-size", info=DatasetInfo(streaming=True))
DATASETS.add("table", load_table, "your table: --data table:PATH of a .csv, .tsv or .parquet file (zenlearn[tables]); "
             "--target (default: the last column), --task, --test-data / --test-split, --drop, --categorical",
             info=DatasetInfo(path_argument=True, tabular=True))
DATASETS.add("npz", load_npz, "your arrays: --data npz:PATH of an .npz with x (rows, features) and y (rows,), "
             "optionally x_test / y_test; the table options apply", info=DatasetInfo(path_argument=True, tabular=True))
DATASETS.add("sklearn", load_sklearn, "a table in scikit-learn's wheel, offline: sklearn:breast_cancer, sklearn:wine, "
             "sklearn:digits, sklearn:iris (classification), sklearn:diabetes (regression)",
             info=DatasetInfo(tabular=True))
DATASETS.add("ucr", ucr, "a UCR/UEA archive dataset bundled in aeon's wheel, offline: ucr:GunPoint, ucr:ItalyPowerDemand, "
             "ucr:ArrowHead, ucr:OSULeaf, ucr:JapaneseVowels (variable length), ucr:BasicMotions, … (zenlearn[series]; "
             "--normalize)")
DATASETS.add("series", series, "your time series: series:PATH of a NAME_TRAIN / NAME_TEST pair of .ts (uni- or "
             "multivariate, variable length, missing values) or UCR .tsv files, a folder or a file stem "
             "(zenlearn[series]; --normalize)", info=DatasetInfo(path_argument=True))
DATASETS.add("forecast", forecast, "a series to forecast: forecast:PATH.csv --column COL --window W --horizon H, sliding "
             "windows predicting the value H steps on at every step, split in time (the last fifth is the test "
             "span); MASE and naive / seasonal-naive baselines; forecast:airline is built in (monthly airline "
             "passengers 1949-1960, from aeon's wheel)", info=DatasetInfo(path_argument=True, built_in=tuple(BUILT_IN), ordered=True))
for _toy, (_, _noise, _about) in TOYS.items():
    DATASETS.add(_toy, toy_loader(_toy), f"2-D toy set: {_about}; {_toy}:classes=K,samples=N,noise=S,seed=I "
                 f"(defaults 2, 1000, {_noise:g}, 0), a fifth held out for testing; generated, no download",
                 aliases=("two-moons",) if _toy == "moons" else ())


def _info(name: str) -> tuple[Any, str, str]:
    """Dataset `name`'s registry info (None for an unknown name), its kind and its argument (`folder:PATH` → PATH)."""
    kind, _, arg = name.partition(":")
    return (DATASETS.entry(kind).info if kind in DATASETS else None), kind, arg


def streams(name: str) -> bool:
    """Whether dataset `name` (`folder:PATH`, `photos`, …) is an image folder read with the folder options
    (`--image-size`, `--color`, `--cache`, …); False for in-memory datasets and unknown names.

    Example:
        >>> streams("folder:runs/photos"), streams("photos:50"), streams("mnist")
        (True, True, False)
    """
    info = _info(name)[0]
    return bool(info is not None and info.streaming)


def resolve_data(name: str) -> str:
    """`name` with a dataset folder's path made absolute (`folder:tiny` → `folder:/home/me/tiny`), so that a
    run folder's config does not depend on the directory it was made from; other names are returned as is.

    Example:
        >>> resolve_data("mnist"), resolve_data("folder:/data/photos")
        ('mnist', 'folder:/data/photos')
    """
    info, kind, arg = _info(name)
    if not arg or not getattr(info, "path_argument", False) or arg in info.built_in:
        return name
    return f"{kind}:{os.path.abspath(os.path.expanduser(arg))}"


def data_folder(name: str) -> Path | None:
    """The folder `--data NAME:PATH` names (`folder:PATH` → PATH), or None for datasets found by name.

    Example:
        >>> data_folder("folder:/data/photos"), data_folder("mnist")
        (PosixPath('/data/photos'), None)
    """
    info, _, arg = _info(name)
    is_path = arg and getattr(info, "path_argument", False) and arg not in info.built_in
    return Path(arg).expanduser() if is_path else None


def data_present(path: Path) -> bool:
    """Whether a `--data NAME:PATH` path is there: a folder, a file, or the stem of files (`data/GunPoint` for
    data/GunPoint_TRAIN.ts).

    Example:
        >>> data_present(Path("/no/such/place"))
        False
    """
    return path.exists() or (path.parent.is_dir() and any(path.parent.glob(glob.escape(path.name) + "_*")))


def tabular(name: str) -> bool:
    """Whether dataset `name` (`table:PATH`, `sklearn:iris`, …) is a table that takes the table options.

    Example:
        >>> tabular("table:data.csv"), tabular("sklearn:iris"), tabular("mnist")
        (True, True, False)
    """
    info = _info(name)[0]
    return bool(info is not None and info.tabular)


def data_dir(explicit: str | None = None) -> Path:
    """The data folder: `explicit`, else $ZENLEARN_DATA, else ~/.cache/zenlearn."""
    d = explicit or os.environ.get("ZENLEARN_DATA") or Path.home() / ".cache" / "zenlearn"
    return Path(d).expanduser()


def load_splits(name: str, *, root: str | None = None, val_split: float = 0.1, seed: int = 0,
                train_subset: int | None = None, device: torch.device | str = "cpu",
                **folder_options: Any) -> DataSplits:
    """Load dataset `name`, split off validation deterministically, move everything to `device`.

    `folder:PATH` datasets are not loaded but scanned: they come back as `FolderSplits` (file lists that
    stream through a `FolderLoader`), and `folder_options` go to `load_folder`. Tables (`tabular`) hold out
    their test and validation rows and fit their preprocessing themselves; `folder_options` are then the
    `TABLE_OPTIONS` (and `preprocess`). Other in-memory loaders get the options they take as keywords
    (`normalize`, `window`, …).

    Args:
        name: Registered dataset name (see `DATASETS.names()`).
        root: Data folder. Defaults to $ZENLEARN_DATA, else ~/.cache/zenlearn.
        val_split: Fraction of training samples held out. Defaults to 0.1.
        seed: Seed of the split and of the subset. Defaults to 0.
        train_subset: Keep only this many training samples. Defaults to all.
        device: Device the tensors live on. Defaults to "cpu".
        **folder_options: the options `dataset_options(name)` lists: `image_size`, `color`, `class_mode`,
            `decode_workers` (or `workers`), `skip_bad_images`, `cache` for folders; the table options and `preprocess` for tables;
            `normalize` for series, `column`, `window`, `horizon`, `season` for forecasts. Defaults to none.

    Example:
        >>> s = load_splits("mnist1d", val_split=0.1)
        >>> len(s.train), len(s.val), len(s.test)
        (3600, 400, 1000)
    """
    kind, _, arg = name.partition(":")
    info = DATASETS.entry(kind).info  # an unknown name: the registry's error listing the datasets
    if info is not None and info.tabular:
        if not arg:
            raise UsageError(f"--data {kind}:{'NAME' if kind == 'sklearn' else 'PATH'} needs its argument, e.g. "
                             f"--data {'sklearn:iris' if kind == 'sklearn' else kind + ':data.' + kind.replace('table', 'csv')}")
        return _with_extent(DATASETS.get(kind)(arg, val_split=val_split, seed=seed, train_subset=train_subset,
                                               device=device, **folder_options))
    if streams(name):
        if not arg and info.path_argument:
            raise UsageError(f"--data {kind}:PATH needs the folder's path, e.g. --data {kind}:photos")
        if "decode_workers" in folder_options:  # the config's name for the loader's decoding processes
            folder_options["workers"] = folder_options.pop("decode_workers")
        return DATASETS.get(kind)(arg, val_split=val_split, seed=seed, train_subset=train_subset, **folder_options)
    loader = DATASETS.get(kind)
    _check_argument(kind, loader, arg)
    options = _options_for(loader, folder_options)
    train, test, spec = loader(data_dir(root), arg, **options) if arg else loader(data_dir(root), **options)
    train, val = split(train, val_split, seed, ordered=info is not None and info.ordered)
    if train_subset is not None:
        train = subset(train, train_subset, seed)
    return _with_extent(Splits(spec, train.to(device), val.to(device) if val is not None else None, test.to(device)))


def _with_extent(splits: Splits) -> Splits:
    """A plane's splits (two features, kind "vector") with `DataSpec.extent`, the box of all their samples."""
    spec = splits.spec
    if spec.kind == "vector" and tuple(spec.input_shape) == (2,) and not spec.embedded and not spec.extent:
        parts = [d.x for d in (splits.train, splits.val, splits.test) if d is not None and len(d)]
        spec.extent = plane_extent(*parts)
    return splits


def series_options(name: str) -> tuple[str, ...]:
    """The `SERIES_OPTIONS` dataset `name`'s loader takes; none for other datasets and unknown names.

    Example:
        >>> series_options("ucr:GunPoint"), series_options("forecast:airline")[:2], series_options("mnist")
        (('normalize',), ('normalize', 'column'), ())
    """
    kind = name.partition(":")[0]
    if kind not in DATASETS or streams(name) or tabular(name):
        return ()
    return tuple(o for o in SERIES_OPTIONS if o in _options_for(DATASETS.get(kind), dict.fromkeys(SERIES_OPTIONS)))


def dataset_options(name: str) -> tuple[str, ...]:
    """The config fields (`DATA_OPTIONS`) dataset `name` takes: an image folder the `FOLDER_OPTIONS`, a table the
    `TABLE_OPTIONS`, a series the `SERIES_OPTIONS` its loader has; none for other datasets and unknown names.
    Whoever builds a dataset from a config hands `load_splits` exactly these; the other data options do not apply.

    Example:
        >>> dataset_options("folder:x")[:2], dataset_options("sklearn:iris")[:1], dataset_options("ucr:GunPoint")
        (('image_size', 'color'), ('target',), ('normalize',))
        >>> dataset_options("mnist")
        ()
    """
    if streams(name):
        return FOLDER_OPTIONS
    return TABLE_OPTIONS if tabular(name) else series_options(name)


def _options_for(loader: Loader, options: dict[str, Any]) -> dict[str, Any]:
    """The `options` an in-memory loader takes as keywords (`normalize`, `window`, …)."""
    names = {p.name for p in inspect.signature(loader).parameters.values() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    return {k: v for k, v in options.items() if k in names}


def _check_argument(kind: str, loader: Loader, arg: str) -> None:
    """`--data NAME:ARG` only for datasets that take an argument, and always for those that need one."""
    params = [p for p in list(inspect.signature(loader).parameters.values())[1:]
              if p.kind is not inspect.Parameter.KEYWORD_ONLY]
    if arg and not params:
        raise UsageError(f"--data {kind}:{arg}: dataset {kind!r} takes no ':ARGUMENT'; use --data {kind}")
    if not arg and params and params[0].default is inspect.Parameter.empty:
        raise UsageError(f"--data {kind}: dataset {kind!r} needs an argument, --data {kind}:{params[0].name.upper()}")


__all__ = ["DataSplits", "DATASETS", "DATA_OPTIONS", "FOLDER_OPTIONS", "dataset_options", "TABLE_OPTIONS", "SERIES_OPTIONS", "series_options", "plane_extent", "plane_grid", "streams", "tabular", "data_present", "resolve_data", "data_folder", "ArrayData", "BatchLoader", "DataSpec", "FolderLoader", "FolderSplits", "Splits", "data_dir", "load_splits", "split",
           "subset", "to_float"]
