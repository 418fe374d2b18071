"""Table datasets: `table:PATH` (.csv / .tsv / .parquet), `npz:PATH` (arrays `x`, `y`, optionally `x_test`,
`y_test`) and `sklearn:NAME` (the tables in scikit-learn's wheel), as `Splits` of the one array protocol.

The split happens here, so that the preprocessing is fitted on the training split only: test rows are held out
first (`--test-data`, or `--test-split` of the rows, stratified for a classification, seeded), then the
validation rows as for every dataset (`split`), then the `TablePreprocess` is fitted on what is left and
transforms all three. A run saves it as JSON; `evaluate` and `predict` pass it back in as `preprocess`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from zenlearn.data.arrays import ArrayData, DataSpec, Splits, split, subset
from zenlearn.data.preprocess import TablePreprocess, column_roles
from zenlearn.data.tablefile import read_npz, read_sklearn, read_table
from zenlearn.data.target import TargetPrep, check_target, holds_classes
from zenlearn.errors import UsageError


def holdout(n: int, fraction: float, seed: int, labels: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, test rows) of `n` rows, `fraction` of them held out, seeded; with `labels` (class codes)
    the same fraction of every class (a class of one row stays in training). Both sorted.

    Example:
        >>> train, test = holdout(10, 0.2, 0, np.array([0] * 5 + [1] * 5))
        >>> len(train), len(test), sorted(np.array([0] * 5 + [1] * 5)[test].tolist())
        (8, 2, [0, 1])
    """
    rng = np.random.default_rng(seed)
    groups = [np.arange(n)] if labels is None else [np.flatnonzero(labels == c) for c in np.unique(labels)]
    test = []
    for rows in groups:
        take = int(round(len(rows) * fraction)) if len(rows) > 1 else 0
        test.append(rng.permutation(rows)[:take])
    test_rows = np.sort(np.concatenate(test)).astype(np.int64)
    if len(test_rows) == 0 and fraction > 0 and n > 1:  # a tiny table: still one test row, from the largest class
        largest = max(groups, key=len)
        test_rows = rng.permutation(largest)[:1].astype(np.int64)
    if len(test_rows) == 0 or len(test_rows) == n:
        raise UsageError(f"--test-split {fraction:g} of {n} row(s) leaves no {'test' if not len(test_rows) else 'training'}"
                         f" rows; add rows, change --test-split or pass --test-data PATH")
    return np.setdiff1d(np.arange(n), test_rows), test_rows


def _columns(table: Any, where: str, target: str | None, drop: tuple[str, ...],
             categorical: tuple[str, ...]) -> str:
    """The target column's name (default: the last column), after checking every named column exists."""
    names = table.column_names
    target = target or names[-1]
    for option, wanted in (("--target", (target,)), ("--drop", drop), ("--categorical", categorical)):
        unknown = [c for c in wanted if c not in names]
        if unknown:
            raise UsageError(f"{option} {','.join(unknown)}: no such column in {where}; its columns are: "
                             f"{', '.join(names)}")
    if target in drop or target in categorical:
        raise UsageError(f"--target {target} is also in --drop / --categorical; the target is neither a dropped "
                         f"column nor a feature")
    return target


def table_splits(name: str, table: Any, test_table: Any | None, *, where: str, val_split: float = 0.1,
                 seed: int = 0, train_subset: int | None = None, device: torch.device | str = "cpu",
                 target: str | None = None, task: str = "auto", test_split: float = 0.2, drop: tuple[str, ...] = (),
                 categorical: tuple[str, ...] = (), preprocess: dict[str, Any] | None = None) -> Splits:
    """Split `table` (test rows from `test_table` when given), fit or restore the preprocessing, transform.

    Args:
        name: The dataset's name in its `DataSpec` ("table:data/iris.csv").
        table: The rows (a `pyarrow.Table`).
        test_table: Separate test rows with the same columns, or None to hold out `test_split`.
        where: How errors name the data ("--data table:data/iris.csv").
        val_split, seed, train_subset, device: As for every dataset (`load_splits`).
        target: The target column. Defaults to the last column.
        task: "auto", "classification" or "regression". Defaults to "auto" (see `holds_classes`).
        test_split: Fraction of rows held out for testing without `test_table`. Defaults to 0.2.
        drop: Columns to ignore. Defaults to none.
        categorical: Columns to encode as categories even if numeric. Defaults to none.
        preprocess: A saved `TablePreprocess.to_dict()` to use instead of fitting one (a finished run's).
            Defaults to None.
    """
    target = _columns(table, where, target, drop, categorical)
    check_target(table.column(target), target, where)
    if test_table is not None:
        if target not in test_table.column_names:
            raise UsageError(f"--test-data has no target column {target!r}; its columns are: "
                             f"{', '.join(test_table.column_names)}")
        check_target(test_table.column(target), target, "--test-data")
    saved = TablePreprocess.from_dict(preprocess) if preprocess is not None else None
    roles = column_roles(table, target=target, drop=drop, categorical=categorical) if saved is None else {}
    categorical = saved.target.categorical if saved is not None and saved.target else holds_classes(table.column(target), task)
    if test_table is None:
        labels = None
        if categorical:
            import pyarrow.compute as pc

            labels = pc.dictionary_encode(table.column(target)).combine_chunks().indices.to_numpy(zero_copy_only=False)
        train_rows, test_rows = holdout(table.num_rows, test_split, seed, labels)
    else:
        train_rows, test_rows = np.arange(table.num_rows), np.empty(0, dtype=np.int64)
    idx = torch.from_numpy(train_rows)
    train_idx, val_idx = split(ArrayData(idx, idx), val_split, seed)  # validation as for every dataset
    if train_subset is not None:
        train_idx = subset(train_idx, train_subset, seed)
    fit_rows = train_idx.x.numpy()
    if saved is None:
        tprep = TargetPrep.fit(target, table.column(target), categorical, fit_rows)
        saved = TablePreprocess.fit(table, roles, fit_rows, tprep)
    prep, tprep = saved, saved.target
    assert tprep is not None  # a table dataset's preprocessing always has its target
    parts = [fit_rows, val_idx.x.numpy() if val_idx is not None else np.empty(0, np.int64), test_rows]
    order = np.concatenate(parts)  # one array for all splits: each split is a view, no copy
    x = torch.from_numpy(prep.transform(table, order))  # (N, width)
    y = torch.from_numpy(tprep.encode(table.column(target).take(order), where))
    bounds = np.cumsum([0] + [len(p) for p in parts])
    train, val, test = (ArrayData(x[a:b], y[a:b]) for a, b in zip(bounds[:-1], bounds[1:]))
    if test_table is not None:
        test = ArrayData(torch.from_numpy(prep.transform(test_table)),
                         torch.from_numpy(tprep.encode(test_table.column(target), "--test-data")))
    spec = DataSpec(name, tprep.task, (prep.width,), len(tprep.classes) if categorical else 1,
                    list(tprep.classes), kind="vector", embedded=prep.embedded, target_mean=tprep.mean,
                    target_std=tprep.std)
    return Splits(spec, train.to(device), val.to(device) if len(val) else None, test.to(device), preprocess=prep)


def _test_table(test_data: str | None, target: str | None) -> Any | None:
    if not test_data:
        return None
    if test_data.lower().endswith(".npz"):
        return read_npz(test_data, "--test-data")[0]
    return read_table(test_data, "--test-data", keep_float64=target)


def load_table(path: str, *, test_data: str | None = None, target: str | None = None, **options: Any) -> Splits:
    """`--data table:PATH`: a .csv, .tsv or .parquet file (see `table_splits` for the options).

    Example:
        >>> from zenlearn.io.atomic import write_text
        >>> write_text(tmp / "t.csv", "a,b,y\\n" + "".join(f"{i % 7},{'xy'[i % 2]},{i % 2}\\n" for i in range(20)))
        >>> s = load_table(str(tmp / "t.csv"))
        >>> s.spec.task, s.spec.input_shape, len(s.train), len(s.val), len(s.test)
        ('classification', (4,), 14, 2, 4)
    """
    table = read_table(path, keep_float64=target)
    return table_splits(f"table:{path}", table, _test_table(test_data, target), where=f"--data table:{path}",
                        target=target, **options)


def load_npz(path: str, *, test_data: str | None = None, **options: Any) -> Splits:
    """`--data npz:PATH`: arrays `x` (rows, features) and `y` (rows,), with `x_test` / `y_test` as the test rows
    when the archive holds them (else `--test-data`, else `--test-split`)."""
    train, test = read_npz(path)
    test = _test_table(test_data, options.get("target")) if test_data else test
    return table_splits(f"npz:{path}", train, test, where=f"--data npz:{path}", **options)


def load_sklearn(name: str, *, test_data: str | None = None, **options: Any) -> Splits:
    """`--data sklearn:NAME`: breast_cancer, wine, digits, iris or diabetes, read from scikit-learn's wheel."""
    return table_splits(f"sklearn:{name}", read_sklearn(name), _test_table(test_data, options.get("target")),
                        where=f"--data sklearn:{name}", **options)
