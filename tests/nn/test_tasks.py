"""Task metrics against scikit-learn's, summed over batches as the trainer sums them."""

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import accuracy_score, mean_absolute_error, mean_squared_error, r2_score

from zenlearn.nn.tasks import TASKS, get_task, higher_is_better, metric_direction
from zenlearn.training.callbacks import EarlyStopping, ModelCheckpoint


def _epoch(task, outputs, targets, batch=7):
    stats = task.zero_stats()
    for i in range(0, len(targets), batch):
        o, y = outputs[i:i + batch], targets[i:i + batch]
        stats += task.batch_stats(o, y, task.loss(o, y))
    return task.finish_stats(stats, "test_")


def test_regression_metrics_equal_scikit_learns_over_batches():
    g = torch.Generator().manual_seed(0)
    y = torch.randn(50, 1, generator=g) * 3 + 5
    pred = y + torch.randn(50, 1, generator=g)
    m = _epoch(get_task("regression"), pred, y)
    yn, pn = y.numpy().ravel(), pred.numpy().ravel()
    assert m["test_mae"] == pytest.approx(mean_absolute_error(yn, pn), rel=1e-6)
    assert m["test_rmse"] == pytest.approx(math.sqrt(mean_squared_error(yn, pn)), rel=1e-6)
    assert m["test_r2"] == pytest.approx(r2_score(yn, pn), rel=1e-6)
    assert m["test_loss"] == pytest.approx(mean_squared_error(yn, pn), rel=1e-6)


def test_classification_accuracy_equals_scikit_learns():
    g = torch.Generator().manual_seed(1)
    logits, y = torch.randn(40, 4, generator=g), torch.randint(0, 4, (40,), generator=g)
    m = _epoch(get_task("classification"), logits, y)
    assert set(m) == {"test_loss", "test_accuracy"}
    assert m["test_accuracy"] == pytest.approx(accuracy_score(y.numpy(), logits.argmax(1).numpy()))


def test_r2_of_constant_targets_is_nan_not_a_division_error():
    m = _epoch(get_task("regression"), torch.ones(5, 1), torch.full((5, 1), 2.0))
    assert math.isnan(m["test_r2"]) and m["test_mae"] == 1.0


@pytest.mark.parametrize("entry", list(TASKS), ids=lambda e: e.name)
def test_every_task_metric_has_one_direction_and_a_column(entry):
    task = entry.obj
    assert task.columns.count(task.metric) == 1 and len(set(task.metric_names)) == len(task.metrics)
    for m in task.metrics:
        assert higher_is_better(f"val_{m.name}") is m.higher_is_better is metric_direction(m.name)


def test_callbacks_take_the_direction_from_the_task():
    assert EarlyStopping("val_r2").mode == "max" and EarlyStopping("val_rmse").mode == "min"
    assert EarlyStopping("val_accuracy").mode == "max" and EarlyStopping("val_loss").mode == "min"
    assert ModelCheckpoint("m.safetensors", "val_r2").mode == "max"


def test_an_old_checkpoints_regression_sums_restore_with_nans_for_the_new_metrics():
    task = get_task("regression")
    full = task.restore_stats(torch.tensor([2.0, 1.0, 4.0], dtype=torch.float64))
    m = task.finish_stats(full)
    assert m["loss"] == 0.5 and m["mae"] == 0.25 and np.isnan(m["rmse"])
