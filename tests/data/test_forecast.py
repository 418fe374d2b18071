"""`forecast:`: sliding windows split in time, units of MASE, the naive baselines, bad columns and windows."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zenlearn.data import load_splits
from zenlearn.data.forecast import baselines, forecast
from zenlearn.errors import UsageError
from zenlearn.nn.tasks import forecast_summary, get_task


def write_csv(path, values, dates=True):
    rows = [f"{1990 + i // 12}-{i % 12 + 1:02d},{v},x{i}" for i, v in enumerate(values)] if dates else \
        [f"{v},x{i}" for i, v in enumerate(values)]
    path.write_text(("date,sales,note\n" if dates else "sales,note\n") + "\n".join(rows) + "\n")
    return path


def test_windows_predict_the_next_value_at_every_step_split_in_time(tmp_path):
    values = np.arange(50.0) ** 1.5
    f = write_csv(tmp_path / "s.csv", values)
    train, test, spec = forecast(tmp_path, str(f), window=6, horizon=1, normalize="none")
    info = spec.forecast
    assert (info["season"], info["train_span"], info["test_span"], info["column"]) == (12, 40, 10, "sales")
    scale = np.abs(values[12:40] - values[:28]).mean()
    assert info["scale"] == pytest.approx(scale)
    z = torch.tensor(values / scale, dtype=torch.float32)
    torch.testing.assert_close(train.y[:, :-1], train.x[:, 1:])  # the target of step k is the input of step k+1
    torch.testing.assert_close(test.y[:, -1, 0], z[40:])  # one test window per point of the test span
    assert len(test) == 10 and float(train.y.max()) <= float(z[39]) + 1e-5  # no training target in the test span
    assert spec.task == "forecast" and spec.input_shape == (6, 1) and spec.per_step


def test_mase_metric_is_the_mae_over_the_seasonal_scale(tmp_path):
    values = 100 + 10 * np.sin(np.arange(60) * 2 * np.pi / 12) + np.arange(60)
    train, test, spec = forecast(tmp_path, str(write_csv(tmp_path / "s.csv", values)), window=12, horizon=1)
    # the seasonal-naive forecast as outputs: its MASE from the task equals the baseline's
    lag = torch.tensor((values[48 - 12:60 - 12] - values[48:60]) / spec.forecast["scale"], dtype=torch.float32)
    outputs = test.y.clone()
    outputs[:, -1, 0] += lag
    task = get_task("forecast")
    stats = task.batch_stats(outputs, test.y, torch.tensor(0.0))
    block = forecast_summary(spec.forecast, task.finish_stats(stats))
    assert block["model"] == pytest.approx(block["seasonal_naive"], rel=1e-5)


def test_baselines_by_hand():
    assert baselines(np.array([1.0, 5, 2, 6, 3, 7, 4, 8]), 6, 1, 2) == {"naive": 3.5, "seasonal_naive": 1.0}


def test_airline_is_built_in_and_validation_is_the_last_training_windows():
    s = load_splits("forecast:airline", val_split=0.2, window=24)
    assert s.spec.forecast["season"] == 12 and s.spec.forecast["test_span"] == 29 and len(s.test) == 29
    assert len(s.train) + len(s.val) == 144 - 29 - 24  # windows whose targets end before the test span
    f = s.spec.forecast
    assert f["baselines"]["seasonal_naive"] > f["scale"]  # MASE > 1: the trend outgrows last year's values


@pytest.mark.parametrize("kwargs, needle", [
    ({"window": 45}, "--window 45 plus --horizon 1 is longer than the training span (40 of the series' 50 values"),
    ({"column": "note"}, "--column 'note' is not numeric (string values such as 'x0'); numeric columns: sales"),
    ({"column": "price"}, "--column 'price' is not in s.csv; columns: date, sales, note"),
])
def test_bad_forecast_options(tmp_path, kwargs, needle):
    f = write_csv(tmp_path / "s.csv", np.arange(50.0))
    with pytest.raises(UsageError) as e:
        forecast(tmp_path, str(f), **kwargs)
    assert needle in str(e.value)


def test_no_dates_means_no_season(tmp_path):
    _, _, spec = forecast(tmp_path, str(write_csv(tmp_path / "s.csv", np.arange(30.0) ** 2, dates=False)), window=4)
    assert spec.forecast["season"] == 1
