"""Tasks: what a model's outputs mean. A `Task` owns the loss, its metrics (names, which way each is better,
how each is summed over batches and finished), and how outputs become predictions; nothing else branches on
the task. (Losses sit beside the models, as in `torch.nn`: a model builder asks the task whether outputs are
class logits.)

Every metric is finished from per-batch sums, which are pure functions of (outputs, targets) summed on the
device without host syncs, so one epoch costs one transfer whatever the number of metrics.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from zenlearn.registry import Registry


def accuracy(logits: Tensor, targets: Tensor) -> Tensor:
    """Fraction of rows whose arg-max equals the target.

    Example:
        >>> float(accuracy(torch.eye(3), torch.arange(3)))
        1.0
    """
    return (logits.argmax(-1) == targets).float().mean()


def correct(logits: Tensor, targets: Tensor) -> Tensor:
    """Number of correct arg-max predictions (a tensor, so summing it needs no host sync)."""
    return (logits.argmax(-1) == targets).sum()


def confusion_matrix(preds: Tensor, targets: Tensor, num_classes: int) -> Tensor:
    """(num_classes, num_classes) counts; row = true class, column = predicted class.

    Example:
        >>> confusion_matrix(torch.tensor([0, 1, 1]), torch.tensor([0, 0, 1]), 2).tolist()
        [[1, 1], [0, 1]]
    """
    idx = targets.long() * num_classes + preds.long()  # (N,)
    return torch.bincount(idx, minlength=num_classes**2).reshape(num_classes, num_classes)


def mean_baseline_mse(train_targets: Tensor, test_targets: Tensor) -> float:
    """MSE on `test_targets` of the trivial model that always predicts the training targets' mean.

    The mean is taken per target position (over samples only), the best constant prediction.

    Example:
        >>> mean_baseline_mse(torch.tensor([[0.], [2.]]), torch.tensor([[1.], [3.]]))
        2.0
    """
    mean = train_targets.double().mean(0, keepdim=True)  # (1, *target_shape)
    return float(((test_targets.double() - mean) ** 2).mean())


def classification_sums(outputs: Tensor, targets: Tensor) -> Tensor:
    """(correct,) of one batch of logits (N, C) against class indices (N,), as float64."""
    return correct(outputs, targets).to(torch.float64).reshape(1)


def regression_sums(outputs: Tensor, targets: Tensor) -> Tensor:
    """(|error| sum, error² sum, target sum, target² sum) of one batch, over every element, as float64.

    Example:
        >>> regression_sums(torch.tensor([1., 2.]), torch.tensor([0., 2.])).tolist()
        [1.0, 1.0, 2.0, 4.0]
    """
    err = (outputs.detach() - targets).to(torch.float64)  # (N, *target_shape)
    y = targets.to(torch.float64)
    return torch.stack([err.abs().sum(), (err * err).sum(), y.sum(), (y * y).sum()])


def forecast_sums(outputs: Tensor, targets: Tensor) -> Tensor:
    """(|error| sum, windows) at each window's last step: the forecast `horizon` steps past the window, one
    per point of the test span. Outputs and targets are (N, T, 1) per-step forecasts.

    Example:
        >>> forecast_sums(torch.tensor([[[0.], [1.]], [[0.], [3.]]]), torch.zeros(2, 2, 1)).tolist()
        [4.0, 2.0]
    """
    err = (outputs.detach()[:, -1] - targets[:, -1]).to(torch.float64)  # (N, 1)
    return torch.stack([err.abs().sum(), torch.tensor(float(len(err)), dtype=torch.float64, device=err.device)])


def forecast_summary(info: Mapping[str, Any], test_metrics: Mapping[str, float]) -> dict[str, Any]:
    """The forecast block of `summary.json`: the model beside the naive baselines on the test span, each with
    its MAE (the column's units) and MASE. `info` is the dataset's `DataSpec.forecast`; the data is in units
    of its `scale` (the training span's seasonal-naive MAE), so the model's MAE is its MASE times the scale.

    Example:
        >>> info = {"scale": 2.0, "season": 12, "test_span": 29, "baselines": {"naive": 4.0}}
        >>> block = forecast_summary(info, {"mase": 0.5, "loss": 0.3})
        >>> block["model"], block["naive"]
        ({'mae': 1.0, 'mase': 0.5}, {'mae': 4.0, 'mase': 2.0})
    """
    scale = float(info["scale"])
    mase = float(test_metrics[FORECAST.metric])
    rows = {"model": mase * scale, **{name: float(mae) for name, mae in info["baselines"].items()}}
    return {**{name: {"mae": mae, FORECAST.metric: mae / scale} for name, mae in rows.items()},
            "season": info["season"], "scale": scale, "test_points": info["test_span"]}


def _r2(s: Mapping[str, float]) -> float:
    # 1 - SSE / SST with SST = Σy² - (Σy)²/n: R² about the targets' grand mean (scikit-learn's r2_score for
    # one target column); NaN when the targets are constant, as scikit-learn's is for one sample
    sst = s["sq_target"] - s["sum_target"] ** 2 / s["count"]
    return 1.0 - s["sq_error"] / sst if sst > 1e-12 * max(s["sq_target"], 1.0) else math.nan


@dataclass(frozen=True)
class Metric:
    """One metric of a task: its column name, its direction, and how it is finished from the epoch's sums.

    Attributes:
        name: The name in logs, `metrics.csv` and `summary.json` ("accuracy", "mae", "rmse", "r2").
        higher_is_better: Which way the metric is better.
        finish: The value from the summed batch statistics, a mapping of the task's `sums` names plus
            "loss" and "count" to their sums over the epoch.
        label: How a report names it ("Accuracy", "MAE", …).
        percent: Shown as a percentage in reports (a fraction of samples, like accuracy).
    """

    name: str
    higher_is_better: bool
    finish: Callable[[Mapping[str, float]], float]
    label: str
    percent: bool = False


@dataclass(frozen=True)
class Task:
    """What outputs mean and how they are scored.

    Attributes:
        name: "classification" or "regression" (the `DataSpec.task` string).
        metrics: The metrics, the primary one (early stopping's and a comparison's default) first.
        categorical: Outputs are class logits (one target class per sample), else real-valued targets.
        sums: Names of the values that `batch_sums` returns per batch.
        batch_sums: A pure function (outputs, targets) -> float64 tensor of len(sums) sums over the batch.
    """

    name: str
    metrics: tuple[Metric, ...]
    categorical: bool
    sums: tuple[str, ...]
    batch_sums: Callable[[Tensor, Tensor], Tensor]

    @property
    def metric(self) -> str:
        """The primary metric's name ("accuracy", "mae")."""
        return self.metrics[0].name

    @property
    def higher_is_better(self) -> bool:
        """Which way the primary metric is better."""
        return self.metrics[0].higher_is_better

    @property
    def metric_names(self) -> list[str]:
        """Every metric's name, the primary one first."""
        return [m.name for m in self.metrics]

    def loss(self, outputs: Tensor, targets: Tensor, label_smoothing: float = 0.0,
             class_weight: Tensor | None = None) -> Tensor:
        """Mean loss: cross-entropy on logits (classification; `class_weight` (K,) weighs each sample by its
        class, the mean taken over the weights as `F.cross_entropy` does) or MSE (regression)."""
        if self.categorical:
            return F.cross_entropy(outputs, targets, weight=class_weight, label_smoothing=label_smoothing)
        return F.mse_loss(outputs, targets)

    def zero_stats(self, device: torch.device | str = "cpu") -> Tensor:
        """The running sums before the first batch: (loss, *sums, count) zeros, float64."""
        return torch.zeros(len(self.sums) + 2, dtype=torch.float64, device=device)

    def batch_stats(self, outputs: Tensor, targets: Tensor, loss: Tensor) -> Tensor:
        """(loss_sum, *sums, count) of one batch as one float64 tensor, summed over batches on the device.

        The count is rows (classification) or target elements (regression), the mean loss's denominator.
        """
        n = targets.shape[0] if self.categorical else targets.numel()
        count = torch.tensor([n], dtype=torch.float64, device=outputs.device)
        lsum = (loss.detach().to(torch.float64) * n).reshape(1)
        return torch.cat([lsum, self.batch_sums(outputs, targets).to(outputs.device), count])

    def restore_stats(self, stats: Tensor) -> Tensor:
        """Running sums read from a checkpoint; one written before a task had several metrics holds only
        (loss, first metric's sum, count), so the sums it lacks read NaN for that one epoch."""
        if len(stats) == len(self.sums) + 2:
            return stats
        full = torch.full((len(self.sums) + 2,), math.nan, dtype=torch.float64)
        full[0], full[1], full[-1] = stats[0], stats[1], stats[-1]
        return full

    def finish_stats(self, stats: Tensor, prefix: str = "") -> dict[str, float]:
        """Turn summed `batch_stats` into {loss, *metrics} (names prefixed, e.g. "val_").

        Example:
            >>> task = get_task("regression")
            >>> s = task.batch_stats(torch.tensor([1., 2., 3.]), torch.tensor([1., 2., 4.]), torch.tensor(1 / 3))
            >>> {k: round(v, 3) for k, v in task.finish_stats(s, "val_").items()}
            {'val_loss': 0.333, 'val_mae': 0.333, 'val_rmse': 0.577, 'val_r2': 0.786}
        """
        values = stats.tolist()
        named = dict(zip(("loss", *self.sums, "count"), values))
        named["count"] = max(named["count"], 1.0)
        out = {f"{prefix}loss": named["loss"] / named["count"]}
        out.update({f"{prefix}{m.name}": m.finish(named) for m in self.metrics})
        return out

    def predictions(self, outputs: Tensor, probabilities: bool = True) -> Tensor:
        """What `predict` returns: softmax probabilities for classifiers (if asked), else the outputs."""
        return outputs.softmax(-1) if probabilities and self.categorical else outputs

    @property
    def columns(self) -> list[str]:
        """The columns of a run's `metrics.csv`."""
        names = self.metric_names
        return ["epoch", "loss", *names, "val_loss", *(f"val_{n}" for n in names), "lr", "seconds"]


CLASSIFICATION = Task(
    "classification",
    (Metric("accuracy", True, lambda s: s["correct"] / s["count"], "Accuracy", percent=True),),
    categorical=True, sums=("correct",), batch_sums=classification_sums)
REGRESSION = Task(
    "regression",
    (Metric("mae", False, lambda s: s["abs_error"] / s["count"], "MAE"),
     Metric("rmse", False, lambda s: math.sqrt(s["sq_error"] / s["count"]), "RMSE"),
     Metric("r2", True, _r2, "R²")),
    categorical=False, sums=("abs_error", "sq_error", "sum_target", "sq_target"), batch_sums=regression_sums)

FORECAST = Task(
    "forecast",  # the data is in units of the training span's seasonal-naive MAE, so |error| is MASE
    (Metric("mase", False, lambda s: s["abs_error_last"] / max(s["windows"], 1.0), "MASE"),),
    categorical=False, sums=("abs_error_last", "windows"), batch_sums=forecast_sums)

TASKS: Registry[Task] = Registry("task")
TASKS.add("classification", CLASSIFICATION, "cross-entropy on logits; accuracy")
TASKS.add("regression", REGRESSION, "mean squared error; MAE, RMSE and R² (over every target element)")
TASKS.add("forecast", FORECAST, "per-step windows (forecast:): mean squared error at every step; MASE of each "
          "window's last step (the data is in units of the training span's seasonal-naive MAE)")


def get_task(spec: str | Task) -> Task:
    """A `Task` by name ("classification", "regression"), or the task itself.

    Example:
        >>> get_task("regression").metric, get_task("regression").metric_names
        ('mae', ['mae', 'rmse', 'r2'])
    """
    return TASKS.get(spec)


def metric_direction(column: str) -> bool | None:
    """Whether a logged column ("val_r2", "test_mae") is a task metric better higher (True) or lower (False);
    None for a column no task defines ("loss", "seconds", a callback's own).

    Example:
        >>> metric_direction("val_r2"), metric_direction("rmse"), metric_direction("score")
        (True, False, None)
    """
    name = column.split("_", 1)[1] if column.startswith(("val_", "test_")) else column
    for entry in TASKS:
        for m in entry.obj.metrics:
            if m.name == name:
                return m.higher_is_better
    return None


def higher_is_better(metric: str) -> bool:
    """Which way a logged metric column is better ("val_accuracy" and "r2" up, "test_loss" and "mae" down).

    Example:
        >>> higher_is_better("val_accuracy"), higher_is_better("test_mae"), higher_is_better("train_seconds")
        (True, False, False)
        >>> higher_is_better("val_r2"), higher_is_better("test_rmse")
        (True, False)
    """
    known = metric_direction(metric)
    if known is not None:
        return known
    return not any(s in metric for s in ("loss", "mae", "error", "seconds"))  # other columns: cost-like names


def metric_names(primary: bool = False) -> list[str]:
    """Every registered task's metric names without repeats, each task's primary one first (`primary=True`:
    only those). Every list of metric columns (compare, tune, the runs table, reports) derives from this.

    Example:
        >>> metric_names(primary=True)[:2], "r2" in metric_names()
        (['accuracy', 'mae'], True)
    """
    names = [m.name for entry in TASKS for m in (entry.obj.metrics[:1] if primary else entry.obj.metrics)]
    return list(dict.fromkeys(names))


def monitor_columns(task: Task | str | None = None, validation: bool = True) -> list[str]:
    """The epoch-log columns that `--keep-best` and `--lr-monitor` can watch: the training loss and metrics, and
    with a validation split their `val_` twins; of one task, or of every task (`task=None`).

    Example:
        >>> monitor_columns("classification"), monitor_columns("classification", validation=False)
        (['loss', 'accuracy', 'val_loss', 'val_accuracy'], ['loss', 'accuracy'])
    """
    tasks = [get_task(task)] if task is not None else [entry.obj for entry in TASKS]
    names = list(dict.fromkeys(m.name for t in tasks for m in t.metrics))
    return ["loss", *names, *(["val_loss", *(f"val_{n}" for n in names)] if validation else [])]


def first_metric(columns: Iterable[str], prefixes: Sequence[str] = ("",), suffix: str = "",
                 primary: bool = True) -> str | None:
    """The first column of `columns` named `<prefix><metric><suffix>`, trying each prefix in turn over the
    (primary) metrics; None when there is none.

    Example:
        >>> first_metric({"test_mae_mean", "val_mae_mean"}, ("val_", "test_"), "_mean")
        'val_mae'
    """
    have = set(columns)
    return next((f"{p}{m}" for p in prefixes for m in metric_names(primary) if f"{p}{m}{suffix}" in have), None)


def find_metric(name: str) -> Metric | None:
    """The `Metric` named `name` ("accuracy", "val_r2", "test_mae": a split prefix is ignored), or None.

    Example:
        >>> find_metric("test_accuracy").label, find_metric("seconds")
        ('Accuracy', None)
    """
    bare = name.split("_", 1)[1] if name.startswith(("val_", "test_")) else name
    return next((m for entry in TASKS for m in entry.obj.metrics if m.name == bare), None)
