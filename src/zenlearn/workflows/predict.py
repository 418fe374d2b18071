"""Predictions of a table run on new rows: the input rows plus the predicted value or class and, for a
classification, one probability per class, through the preprocessing saved in the run folder."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from zenlearn.data.preprocess import TablePreprocess
from zenlearn.data.tablefile import read_table
from zenlearn.errors import UsageError
from zenlearn.io.atomic import atomic_open
from zenlearn.io.rundir import RunDir
from zenlearn.training.build import load_run

PREDICTION = "prediction"
"""The predicted class or value's column in the output."""


def is_table_run(run_dir: str | Path) -> bool:
    """Whether `run_dir` was trained on a table (it holds the saved preprocessing)."""
    return RunDir(run_dir).preprocess.is_file()


def predict_table(run_dir: str | Path, path: str | Path, *, batch_size: int = 1000) -> Any:
    """The rows of table file `path` with the run's predictions appended, as a `pyarrow.Table`.

    The target column may be absent (it is kept as it is when present). A category the run never saw goes
    to "unknown"; a missing feature column is a one-line `UsageError` naming it.

    Args:
        run_dir: A finished run trained on a table (`--data table:`, `npz:`, `sklearn:`).
        path: A .csv, .tsv or .parquet file with the training table's feature columns.
        batch_size: Rows per forward pass. Defaults to 1000.

    Example:
        >>> from zenlearn.io.atomic import write_text
        >>> write_text(tmp / "t.csv", "a,b,y\\n" + "".join(f"{i % 5},{'ab'[i % 2]},{i % 2}\\n" for i in range(40)))
        >>> from zenlearn import TrainConfig, train_run
        >>> _ = train_run(TrainConfig(data=f"table:{tmp}/t.csv", model="mlp", hidden=(8,), epochs=1, report=False,
        ...                           out=str(tmp / "run")), verbose=False)
        >>> write_text(tmp / "new.csv", "a,b\\n1,a\\n2,zz\\n")
        >>> predict_table(tmp / "run", tmp / "new.csv").column_names
        ['a', 'b', 'prediction', 'probability_0', 'probability_1']
    """
    import pyarrow as pa

    _, spec, trainer = load_run(run_dir)
    saved = RunDir(run_dir).read_preprocess()
    if saved is None:
        raise UsageError(f"{run_dir} was not trained on a table (no preprocess.json); predict takes images, .npy "
                         f"or IDX files for it")
    prep = TablePreprocess.from_dict(saved)
    target = prep.target.name if prep.target is not None else None
    table = read_table(path, f"predict {path}", keep_float64=target)
    x = torch.from_numpy(prep.transform(table))  # (N, width)
    out = trainer.predict(x, batch_size=batch_size).cpu().numpy()
    if trainer.task.categorical:
        classes = np.asarray(spec.classes)
        cols = {PREDICTION: pa.array(classes[out.argmax(1)])}
        cols.update({f"probability_{c}": pa.array(out[:, i]) for i, c in enumerate(spec.classes)})
    else:
        cols = {PREDICTION: pa.array(out.reshape(len(out), -1)[:, 0].astype(np.float64))}
    for name, values in cols.items():
        table = table.append_column(name if name not in table.column_names else f"{name}_", values)
    return table


def write_predictions(table: Any, output: str | Path | None) -> None:
    """Write `table` as CSV to `output` (atomically), or to standard output when None."""
    import pyarrow.csv as pcsv

    buf = io.BytesIO()
    pcsv.write_csv(table, buf, pcsv.WriteOptions(quoting_style="needed"))
    if output is None:
        sys.stdout.write(buf.getvalue().decode())
        sys.stdout.flush()
        return
    output = Path(output)
    if output.is_dir() or not output.parent.is_dir():
        why = "is a folder" if output.is_dir() else f"is in {output.parent}, which is not a folder"
        raise UsageError(f"--output {output} {why}; pass a file path such as predictions.csv")
    with atomic_open(output, "wb") as f:
        f.write(buf.getvalue())
