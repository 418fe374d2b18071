"""Your own time series: the UCR/UEA archive formats (`series:PATH`) and aeon's bundled archive (`ucr:NAME`).

Files are parsed by aeon (`zenlearn[series]`): `.ts` (univariate or multivariate, equal or variable
length, missing values as `?` or NaN) and UCR `.tsv` (label first). The splits hold (N, T, F) float32
sequences, T the longest series of train and test.

The padding convention: a series shorter than T is followed by NaN steps (every feature NaN), as the UCR
2018 archive stores variable-length series. `DataSpec.variable_length` says a dataset has such series;
the sequence models read each series' length from the trailing NaN steps (`zenlearn.nn.masking`), so no
model ever sees a padded step. Missing values inside a series are linearly interpolated.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from zenlearn.data.arrays import ArrayData, DataSpec
from zenlearn.errors import UsageError

NORMALIZE = ("series", "global", "none")
SUFFIXES = (".ts", ".tsv")


def aeon_datasets() -> Any:
    """aeon's `datasets` module, or a one-line install hint."""
    try:
        import aeon.datasets
    except ImportError:
        raise UsageError("reading time series needs aeon: pip install 'zenlearn[series]'") from None
    return aeon.datasets


def bundled_dir() -> Path:
    """The folder of archive files inside aeon's wheel (`aeon/datasets/data`)."""
    return Path(aeon_datasets().__file__).parent / "data"


def bundled_names() -> list[str]:
    """Names of the classification datasets bundled with aeon (those with NAME_TRAIN.ts and NAME_TEST.ts).

    Example:
        >>> {"GunPoint", "JapaneseVowels"} <= set(bundled_names())
        True
    """
    root = bundled_dir()
    return sorted(p.name for p in root.iterdir()
                  if (p / f"{p.name}_TRAIN.ts").is_file() and (p / f"{p.name}_TEST.ts").is_file())


def ucr(data_dir: Path, name: str, *, normalize: str = "series") -> tuple[ArrayData, ArrayData, DataSpec]:
    """`--data ucr:NAME`: an archive dataset bundled in aeon's wheel, read offline from aeon's own files."""
    names = bundled_names()
    match = {n.lower(): n for n in names}.get(name.lower())
    if match is None:
        raise UsageError(f"--data ucr:{name}: {name!r} is not bundled with aeon; bundled: {', '.join(names)} "
                         f"(other archive datasets: download NAME_TRAIN.ts / NAME_TEST.ts, then --data series:FOLDER)")
    root = bundled_dir() / match
    return read_pair(root / f"{match}_TRAIN.ts", root / f"{match}_TEST.ts", match, normalize, f"ucr:{name}")


def series(data_dir: Path, path: str, *, normalize: str = "series") -> tuple[ArrayData, ArrayData, DataSpec]:
    """`--data series:PATH`: a NAME_TRAIN / NAME_TEST pair of .ts or .tsv files, from a folder or a file stem."""
    train, test = find_pair(Path(path).expanduser())
    name = train.name[: -len("_TRAIN" + train.suffix)]
    return read_pair(train, test, name, normalize, f"series:{path}")


def find_pair(path: Path) -> tuple[Path, Path]:
    """The (NAME_TRAIN, NAME_TEST) files that `path` names: a folder holding one pair, one of the two files,
    or their stem (`data/GunPoint` for data/GunPoint_TRAIN.ts)."""
    where = f"--data series:{path}"
    if path.is_dir():
        stems = sorted({f.name.rsplit("_", 1)[0] for f in path.iterdir() if _split_of(f)})
        if not stems:
            raise UsageError(f"{where}: the folder holds no NAME_TRAIN.ts / NAME_TEST.ts (or .tsv) files")
        if len(stems) > 1:
            raise UsageError(f"{where}: the folder holds several datasets ({', '.join(stems)}); name one, e.g. "
                             f"--data series:{path / stems[0]}")
        stem = path / stems[0]
    elif _split_of(path):
        stem = path.with_name(path.name.rsplit("_", 1)[0])
    else:
        stem = path
    train, test = _with_split(stem, "TRAIN"), _with_split(stem, "TEST")
    if train is None and test is not None:
        raise UsageError(f"{where}: found {test.name} but no {stem.name}_TRAIN{test.suffix} beside it; "
                         f"zenlearn trains on the _TRAIN file and tests on the _TEST file")
    if train is None:
        raise UsageError(f"{where}: no {stem}_TRAIN.ts or {stem}_TRAIN.tsv; pass a folder or a NAME_TRAIN file")
    if test is None:
        raise UsageError(f"{where}: found {train.name} but no {stem.name}_TEST{train.suffix} beside it")
    return train, test


def _split_of(f: Path) -> str | None:
    m = re.fullmatch(r".+_(TRAIN|TEST)", f.stem)
    return m.group(1) if m and f.suffix in SUFFIXES and f.is_file() else None


def _with_split(stem: Path, split: str) -> Path | None:
    for suffix in SUFFIXES:
        f = stem.with_name(f"{stem.name}_{split}{suffix}")
        if f.is_file():
            return f
    return None


def read_file(path: Path, where: str) -> tuple[list[np.ndarray], np.ndarray]:
    """Series (a list of (F, L) float arrays) and their labels (strings) from one .ts / .tsv file."""
    ds = aeon_datasets()
    try:
        if path.suffix == ".tsv":
            x, y = ds.load_from_tsv_file(str(path))
            meta: dict[str, Any] = {}
        else:
            x, y, meta = ds.load_from_ts_file(str(path), return_meta_data=True)
        series = [np.asarray(s, dtype=np.float64) for s in x]
    except (OSError, ValueError, IndexError, TypeError) as e:
        msg = " ".join(str(e).split())
        raise UsageError(f"{where}: {path.name} cannot be read ({msg}); check the file against the "
                         f".ts/.tsv format (aeon's load_from_ts_file)") from None
    labels = np.asarray([str(v).strip() for v in y])
    if meta:
        _check_header(path, meta, series, labels, where)
    if not len(series):
        raise UsageError(f"{where}: {path.name} holds no series")
    return series, labels


def _check_header(path: Path, meta: dict[str, Any], series: list[np.ndarray], labels: np.ndarray, where: str) -> None:
    """The header's @dimensions and @classLabel values against the data (aeon reads both without comparing)."""
    declared = meta.get("class_values") or []
    if meta.get("classlabel") and declared:
        unknown = sorted(set(labels) - set(declared))
        if unknown:
            raise UsageError(f"{where}: {path.name}'s header lists the labels {' '.join(declared)} but the data "
                             f"has {' '.join(unknown[:5])}; fix the @classLabel line")
    if meta.get("univariate") and series[0].shape[0] > 1:
        raise UsageError(f"{where}: {path.name}'s header says @univariate true but each series has "
                         f"{series[0].shape[0]} dimensions; fix the @univariate line")
    dims = _header_value(path, "dimensions")
    if dims is not None and dims.isdigit() and int(dims) != series[0].shape[0]:
        raise UsageError(f"{where}: {path.name}'s header says @dimensions {dims} but each series has "
                         f"{series[0].shape[0]}; fix the @dimensions line")


def _header_value(path: Path, key: str) -> str | None:
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            tokens = line.strip().split()
            if tokens and tokens[0].lower() == "@data":
                return None
            if len(tokens) == 2 and tokens[0].lower() == f"@{key}":
                return tokens[1]
    return None


def read_pair(train_file: Path, test_file: Path, name: str, normalize: str,
              where: str) -> tuple[ArrayData, ArrayData, DataSpec]:
    """Both files as padded (N, T, F) sequences with class indices, normalised as `normalize` says."""
    where = f"--data {where}"
    xs_train, y_train = read_file(train_file, where)
    xs_test, y_test = read_file(test_file, where)
    if xs_train[0].shape[0] != xs_test[0].shape[0]:
        raise UsageError(f"{where}: {train_file.name} has {xs_train[0].shape[0]} dimensions, {test_file.name} "
                         f"{xs_test[0].shape[0]}")
    classes = [str(c) for c in sorted(set(y_train), key=_label_key)]
    unseen = sorted(set(y_test) - set(classes), key=_label_key)
    if unseen:
        raise UsageError(f"{where}: {test_file.name} has label(s) {', '.join(unseen[:5])} never seen in "
                         f"{train_file.name} (classes: {', '.join(classes[:10])}); a classifier cannot predict them")
    steps = max(s.shape[1] for s in xs_train + xs_test)
    x_train, x_test = pad(xs_train, steps), pad(xs_test, steps)
    lengths = [valid_lengths(x) for x in (x_train, x_test)]
    if min(int(n.min()) for n in lengths) == 0:
        raise UsageError(f"{where}: a series has no values at all (every step missing); remove it")
    for x, n in zip((x_train, x_test), lengths):
        interpolate_missing(x, n)
    normalise(x_train, x_test, normalize)
    index = {c: i for i, c in enumerate(classes)}
    variable = any(bool((n < steps).any()) for n in lengths)
    spec = DataSpec(name, "classification", (steps, x_train.shape[2]), len(classes), classes=list(classes),
                    kind="sequence", variable_length=variable)
    as_data = lambda x, y: ArrayData(torch.from_numpy(x.astype(np.float32)),  # noqa: E731
                                     torch.tensor([index[v] for v in y], dtype=torch.long))
    return as_data(x_train, y_train), as_data(x_test, y_test), spec


def _label_key(label: str) -> tuple[int, float, str]:
    try:
        return (0, float(label), label)  # numeric labels in numeric order ("2" before "10")
    except ValueError:
        return (1, 0.0, label)


def pad(series: list[np.ndarray], steps: int) -> np.ndarray:
    """(N, steps, F): each (F, L) series transposed, followed by NaN steps.

    Example:
        >>> pad([np.ones((1, 2)), np.ones((1, 3))], 3)[:, :, 0].tolist()
        [[1.0, 1.0, nan], [1.0, 1.0, 1.0]]
    """
    out = np.full((len(series), steps, series[0].shape[0]), np.nan)
    for i, s in enumerate(series):
        out[i, : s.shape[1]] = s.T
    return out


def valid_lengths(x: np.ndarray) -> np.ndarray:
    """Each series' length: the last step where any feature is a number, plus one (N,)."""
    has_value = ~np.isnan(x).all(axis=2)  # (N, T)
    return np.where(has_value.any(1), x.shape[1] - np.argmax(has_value[:, ::-1], axis=1), 0)


def interpolate_missing(x: np.ndarray, lengths: np.ndarray) -> None:
    """Fill missing values inside each series (before its length) by linear interpolation, in place."""
    for i, j in zip(*np.nonzero(np.isnan(x).any(axis=1))):  # (series, feature) pairs with a gap
        n = lengths[i]
        col = x[i, :n, j]
        ok = ~np.isnan(col)
        steps = np.arange(n)
        col[:] = np.interp(steps, steps[ok], col[ok]) if ok.any() else 0.0


def normalise(train: np.ndarray, test: np.ndarray, how: str) -> None:
    """z-normalise in place: per series and feature (`series`), by the training set's per-feature mean and
    standard deviation (`global`), or not at all (`none`). Padding (NaN) stays NaN."""
    if how == "none":
        return
    if how == "series":
        for x in (train, test):
            mean = np.nanmean(x, axis=1, keepdims=True)  # (N, 1, F)
            std = np.nanstd(x, axis=1, keepdims=True)
            x -= mean
            x /= np.where(std > 1e-8, std, 1.0)
        return
    mean, std = np.nanmean(train, axis=(0, 1)), np.nanstd(train, axis=(0, 1))  # (F,)
    for x in (train, test):
        x -= mean
        x /= np.where(std > 1e-8, std, 1.0)
