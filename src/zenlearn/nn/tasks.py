"""Tasks: what a model's outputs mean. A `Task` owns the loss, the per-batch statistics, the metric's name
and which way it is better, and how outputs become predictions; nothing else branches on the task. (Losses
sit beside the models, as in `torch.nn`: a model builder asks the task whether outputs are class logits.)

Metrics are pure functions of (outputs, targets), summed on the device without host syncs.
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class Task:
    """What outputs mean and how they are scored.

    Attributes:
        name: "classification" or "regression" (the `DataSpec.task` string).
        metric: The metric's name in logs and files ("accuracy", "mae").
        higher_is_better: Which way the metric is better.
        categorical: Outputs are class logits (one target class per sample), else real-valued targets.
    """

    name: str
    metric: str
    higher_is_better: bool
    categorical: bool

    def loss(self, outputs: Tensor, targets: Tensor, label_smoothing: float = 0.0) -> Tensor:
        """Mean loss: cross-entropy on logits (classification) or MSE (regression)."""
        if self.categorical:
            return F.cross_entropy(outputs, targets, label_smoothing=label_smoothing)
        return F.mse_loss(outputs, targets)

    def batch_stats(self, outputs: Tensor, targets: Tensor, loss: Tensor) -> Tensor:
        """(loss_sum, metric_sum, count) of one batch as one float64 tensor, summed over batches on device.

        The metric is correct predictions (classification) or absolute error summed per element (regression).
        """
        if self.categorical:
            n = targets.shape[0]
            metric = correct(outputs, targets).to(torch.float64)
        else:
            n = targets.numel()
            metric = (outputs.detach() - targets).abs().sum().to(torch.float64)
        count = torch.tensor(n, dtype=torch.float64, device=outputs.device)
        return torch.stack([loss.detach().to(torch.float64) * n, metric, count])

    def finish_stats(self, stats: Tensor, prefix: str = "") -> dict[str, float]:
        """Turn summed `batch_stats` into {loss, metric} (names prefixed, e.g. "val_")."""
        loss_sum, metric_sum, count = stats.tolist()
        count = max(count, 1.0)
        return {f"{prefix}loss": loss_sum / count, f"{prefix}{self.metric}": metric_sum / count}

    def predictions(self, outputs: Tensor, probabilities: bool = True) -> Tensor:
        """What `predict` returns: softmax probabilities for classifiers (if asked), else the outputs."""
        return outputs.softmax(-1) if probabilities and self.categorical else outputs

    @property
    def columns(self) -> list[str]:
        """The columns of a run's `metrics.csv`."""
        return ["epoch", "loss", self.metric, "val_loss", f"val_{self.metric}", "lr", "seconds"]


TASKS: Registry[Task] = Registry("task")
TASKS.add("classification", Task("classification", "accuracy", True, True), "cross-entropy on logits; accuracy")
TASKS.add("regression", Task("regression", "mae", False, False), "mean squared error; mean absolute error")


def get_task(spec: str | Task) -> Task:
    """A `Task` by name ("classification", "regression"), or the task itself.

    Example:
        >>> get_task("regression").metric
        'mae'
    """
    return TASKS.get(spec)


def higher_is_better(metric: str) -> bool:
    """Which way a logged metric column is better ("val_accuracy" up, "test_loss" and "mae" down).

    Example:
        >>> higher_is_better("val_accuracy"), higher_is_better("test_mae"), higher_is_better("train_seconds")
        (True, False, False)
    """
    name = metric.split("_", 1)[1] if metric.startswith(("val_", "test_")) else metric
    for entry in TASKS:
        if entry.obj.metric == name:
            return entry.obj.higher_is_better
    return not any(s in metric for s in ("loss", "mae", "error", "seconds"))  # other columns: cost-like names
