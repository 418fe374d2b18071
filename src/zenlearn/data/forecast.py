"""`forecast:PATH.csv`: one column of a CSV file as sliding windows that predict the next value at every step.

The survey's LSTM example reads a window of a series and predicts, at every step, the value `--horizon`
steps later. Here window t holds steps t … t+W-1 of the column and its targets are steps t+H … t+W-1+H.

- **Chronological split.** The last fifth of the series is the test span. A window is a test window when its
  last target lies in the test span (one window per test point: the forecast made H steps before it);
  every training window's targets lie before the test span, and validation is the last `--val-split` of
  the training windows. Nothing is shuffled across these borders.
- **Units.** Values are divided by the training span's in-sample seasonal-naive MAE (mean |y[t] - y[t-m]|,
  m = `--season`), so an absolute error of 1 is one MASE: the task's `mase` metric is exact. `--normalize`
  removes the level: series (each window's own mean; the default), global (the training span's mean), none.
- **Baselines.** Naive (the value H steps back) and seasonal naive (the same season, a whole number of seasons
  back): their MAE on the test span is kept in `DataSpec.forecast`; `summary.json` and the report put the
  model beside them, MAE and MASE (`zenlearn.nn.tasks.forecast_summary`).

Built in: `forecast:airline`, the monthly airline passengers 1949-1960 shipped in aeon's wheel.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from zenlearn.data.arrays import ArrayData, DataSpec
from zenlearn.data.series import bundled_dir
from zenlearn.errors import UsageError

TEST_FRACTION = 0.2
BUILT_IN = {"airline": ("Airline", "Airline.csv")}
SEASONS = {"MS": 12, "M": 12, "ME": 12, "QS": 4, "Q": 4, "QE": 4, "W": 52, "D": 7, "B": 5, "H": 24, "h": 24}


def forecast(data_dir: Path, path: str, *, column: str | None = None, window: int = 24, horizon: int = 1,
             season: int = 0, normalize: str = "series") -> tuple[ArrayData, ArrayData, DataSpec]:
    """`--data forecast:PATH.csv` (or `forecast:airline`): windows of `column`, split in time (module docstring)."""
    where = f"--data forecast:{path}"
    file = bundled_dir().joinpath(*BUILT_IN[path]) if path in BUILT_IN else Path(path).expanduser()
    values, dates, column = read_column(file, column, where)
    m = season or infer_season(dates)
    n = len(values)
    n_test = max(1, round(n * TEST_FRACTION))
    n_train = n - n_test
    if window + horizon > n_train:
        raise UsageError(f"{where}: --window {window} plus --horizon {horizon} is longer than the training span "
                         f"({n_train} of the series' {n} values; the last {n_test} are the test span); use a "
                         f"--window of at most {n_train - horizon}")
    if m >= n_train:
        raise UsageError(f"{where}: --season {m} leaves no seasonal difference in the training span of {n_train} "
                         f"values; pass a smaller --season")
    train_span = values[:n_train]
    scale = float(np.abs(train_span[m:] - train_span[:-m]).mean())
    if not scale > 0:
        raise UsageError(f"{where}: column {column!r} does not change over its training span; nothing to forecast")
    level = float(train_span.mean()) if normalize == "global" else 0.0
    z = (values - level) / scale  # units of the training span's seasonal-naive MAE
    starts = np.arange(n - window - horizon + 1)  # window t: steps t … t+W-1, targets t+H … t+W-1+H
    steps = starts[:, None] + np.arange(window)  # (n_windows, W)
    x, y = z[steps], z[steps + horizon]
    if normalize == "series":
        shift = x.mean(1, keepdims=True)  # each window's own level, known when it forecasts
        x, y = x - shift, y - shift
    is_test = starts + window + horizon - 1 >= n_train  # the last target lies in the test span
    as_data = lambda rows: ArrayData(torch.from_numpy(x[rows, :, None].astype(np.float32)),  # noqa: E731
                                     torch.from_numpy(y[rows, :, None].astype(np.float32)))
    info = {"column": column, "window": window, "horizon": horizon, "season": m, "scale": scale,
            "train_span": n_train, "test_span": n_test,
            "baselines": baselines(values, n_train, horizon, m)}
    name = Path(path).stem if path not in BUILT_IN else path
    spec = DataSpec(f"forecast:{name}", "forecast", (window, 1), 1, kind="sequence", per_step=True, forecast=info)
    return as_data(~is_test), as_data(is_test), spec


def read_column(file: Path, column: str | None, where: str) -> tuple[np.ndarray, list[Any] | None, str]:
    """The numeric column (float64, missing values interpolated), the first non-numeric column (dates), its name."""
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv
    except ImportError:
        raise UsageError("reading a forecast CSV needs pyarrow: pip install 'zenlearn[series]'") from None
    if not file.is_file():
        raise UsageError(f"{where}: no file {file}; pass a CSV file (or forecast:airline, the built-in series)")
    try:
        table = pacsv.read_csv(file)
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as e:
        why = " ".join(str(e).split())[:200]
        raise UsageError(f"{where}: {file.name} is not a readable CSV file ({why})") from None
    numeric = [f.name for f in table.schema if pa.types.is_integer(f.type) or pa.types.is_floating(f.type)]
    if column is None:
        if not numeric:
            raise UsageError(f"{where}: {file.name} has no numeric column; columns: {', '.join(table.column_names)}")
        column = numeric[-1]
    if column not in table.column_names:
        raise UsageError(f"{where}: --column {column!r} is not in {file.name}; "
                         f"columns: {', '.join(table.column_names)}")
    if column not in numeric:
        kind = table.schema.field(column).type
        raise UsageError(f"{where}: --column {column!r} is not numeric ({kind} values such as "
                         f"{table.column(column)[0].as_py()!r}); numeric columns: {', '.join(numeric) or 'none'}")
    values = table.column(column).to_numpy(zero_copy_only=False).astype(np.float64)
    ok = ~np.isnan(values)
    if ok.sum() < 2:
        raise UsageError(f"{where}: --column {column!r} holds fewer than 2 numbers")
    values = np.interp(np.arange(len(values)), np.nonzero(ok)[0], values[ok])
    others = [f.name for f in table.schema if f.name not in numeric]
    return values, (table.column(others[0]).to_pylist() if others else None), column


def infer_season(dates: list[Any] | None) -> int:
    """Season length from a date column's frequency (monthly 12, quarterly 4, weekly 52, daily 7, hourly 24);
    1 without dates or a regular frequency.

    Example:
        >>> infer_season(["1949-01", "1949-02", "1949-03", "1949-04"]), infer_season(None)
        (12, 1)
    """
    if not dates or len(dates) < 3:
        return 1
    import pandas as pd  # aeon's dependency (zenlearn[series])

    try:
        with warnings.catch_warnings():  # a column of other text: no dates, no season
            warnings.simplefilter("ignore")
            freq = pd.infer_freq(pd.to_datetime(pd.Series(dates)))
    except (ValueError, TypeError):
        return 1
    return SEASONS.get((freq or "").split("-")[0], 1)


def baselines(values: np.ndarray, n_train: int, horizon: int, season: int) -> dict[str, float]:
    """MAE on the test span of the naive forecast (the value `horizon` steps back) and of the seasonal naive
    one (the same season, the fewest whole seasons back that are known `horizon` steps ahead).

    Example:
        >>> baselines(np.array([1.0, 2, 3, 4, 5, 6]), 4, 1, 2)
        {'naive': 1.0, 'seasonal_naive': 2.0}
    """
    t = np.arange(n_train, len(values))
    lag = season * math.ceil(horizon / season)
    return {name: float(np.abs(values[t] - values[t - back]).mean())
            for name, back in (("naive", horizon), ("seasonal_naive", lag))}
