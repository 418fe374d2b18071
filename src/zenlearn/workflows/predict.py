"""Predictions of a table run on new rows: the input rows plus the predicted value or class and, for a
classification, one probability per class, through the preprocessing saved in the run folder."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from zenlearn.data.files import read_inputs
from zenlearn.data.preprocess import TablePreprocess
from zenlearn.data.tablefile import read_table
from zenlearn.errors import UsageError
from zenlearn.io.atomic import atomic_open
from zenlearn.io.rundir import RunDir
from zenlearn.io.summary import RunSummary
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


def predict_files(run_dir: str | Path, paths: list[str], *, top_k: int = 1, batch_size: int = 1000,
                  warn: Any = None) -> Any:
    """Predictions of a run on input files (images, .npy arrays, IDX files) as a `pyarrow.Table`: one row
    per sample (`file`, and `index` inside a batch file), then `prediction` and `probability` for the top
    class, `prediction_2`, `probability_2`, … up to `top_k` (regression: `prediction`, or `prediction_0`, …).

    Args:
        run_dir: A finished run trained on images, sequences or vectors.
        paths: Input files, read as `zenlearn.data.files.read_inputs` reads them.
        top_k: Classes per sample, most probable first. Defaults to 1.
        batch_size: Samples per forward pass. Defaults to 1000.
        warn: Called with one line per file whose images have the opposite polarity (light vs dark) of the
            training images, e.g. black digits on white for an MNIST model. Defaults to no warnings.

    Example:
        >>> from zenlearn.io.atomic import write_with
        >>> write_with(tmp / "x.npy", lambda f: np.save(f, np.zeros((2, 40, 1), np.float32)))
        >>> t = predict_files(run_dir, [str(tmp / "x.npy")], top_k=2)
        >>> t.column_names, t.num_rows
        (['file', 'index', 'prediction', 'probability', 'prediction_2', 'probability_2'], 2)
    """
    import pyarrow as pa

    if top_k < 1:
        raise UsageError(f"--top-k must be >= 1, got {top_k}")
    if batch_size < 1:
        raise UsageError(f"--batch-size must be >= 1, got {batch_size}")
    _, spec, trainer = load_run(run_dir)
    train_mean = ((RunDir(run_dir).read_summary() or RunSummary()).data).get("mean")
    files, index, outs = [], [], []
    for path in paths:
        x = read_inputs(path, spec)
        if warn is not None and spec.kind == "image" and train_mean is not None:
            line = polarity_warning(path, x, float(train_mean))
            if line:
                warn(line)
        outs.append(trainer.predict(x, batch_size=batch_size).cpu())
        files += [str(path)] * len(x)
        index += list(range(len(x)))
    out = torch.cat(outs) if outs else torch.empty(0)
    cols: dict[str, Any] = {"file": pa.array(files), "index": pa.array(index, pa.int64())}
    if trainer.task.categorical:
        k = min(top_k, out.shape[1])
        prob, idx = out.topk(k, dim=1)  # (N, k) each
        classes = np.asarray(spec.classes if spec.classes else [str(i) for i in range(out.shape[1])])
        for j in range(k):
            suffix = "" if j == 0 else f"_{j + 1}"
            cols[PREDICTION + suffix] = pa.array(classes[idx[:, j].numpy()])
            cols["probability" + suffix] = pa.array(prob[:, j].numpy().astype(np.float64))
    else:
        flat = out.reshape(len(out), -1).numpy().astype(np.float64)  # (N, outputs)
        for j in range(flat.shape[1]):
            cols[PREDICTION if flat.shape[1] == 1 else f"{PREDICTION}_{j}"] = pa.array(flat[:, j])
    return pa.table(cols)


def polarity_warning(path: str | Path, x: torch.Tensor, train_mean: float) -> str | None:
    """One line when images `x` (N, C, H, W, scaled to [0, 1]) are mostly light where the training images
    were mostly dark, or the other way round; None when they agree (or either is mid-grey).

    Example:
        >>> polarity_warning("digit.png", torch.full((1, 1, 28, 28), 0.9), train_mean=0.13)
        'digit.png: the image is mostly light (mean 0.90) but the training images were mostly dark (mean 0.13): the model expects light shapes on a dark background (white digit on black for MNIST); invert the image'
    """
    means = x.float().flatten(1).mean(1)  # (N,)
    if not 0.0 <= train_mean <= 1.0 or abs(train_mean - 0.5) < 0.15:
        return None
    dark_training = train_mean < 0.5
    opposite = (means > 0.5) if dark_training else (means < 0.5)
    n = int(opposite.sum())
    if n == 0:
        return None
    shade, other = ("light", "dark") if dark_training else ("dark", "light")
    what = "the image is" if len(x) == 1 else f"{n} of {len(x)} images are"
    mean = f"mean {float(means[opposite].mean()):.2f}"
    expects = ("light shapes on a dark background (white digit on black for MNIST)" if dark_training
               else "dark shapes on a light background")
    return (f"{path}: {what} mostly {shade} ({mean}) but the training images were mostly {other} (mean "
            f"{train_mean:.2f}): the model expects {expects}; invert the image")
