"""Metrics as pure functions of (outputs, targets), plus the per-task loss."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def accuracy(logits: Tensor, targets: Tensor) -> Tensor:
    """Fraction of rows whose arg-max equals the target. Example: accuracy(eye(3), arange(3)) == 1."""
    return (logits.argmax(-1) == targets).float().mean()


def correct(logits: Tensor, targets: Tensor) -> Tensor:
    """Number of correct arg-max predictions (a tensor, so summing it needs no host sync)."""
    return (logits.argmax(-1) == targets).sum()


def confusion_matrix(preds: Tensor, targets: Tensor, num_classes: int) -> Tensor:
    """(num_classes, num_classes) counts; row = true class, column = predicted class."""
    idx = targets.long() * num_classes + preds.long()  # (N,)
    return torch.bincount(idx, minlength=num_classes**2).reshape(num_classes, num_classes)


def task_loss(task: str, outputs: Tensor, targets: Tensor, label_smoothing: float = 0.0) -> Tensor:
    """Mean loss for `task`: cross-entropy on logits (classification) or MSE (regression)."""
    if task == "classification":
        return F.cross_entropy(outputs, targets, label_smoothing=label_smoothing)
    return F.mse_loss(outputs, targets)


def batch_stats(task: str, outputs: Tensor, targets: Tensor, loss: Tensor) -> Tensor:
    """(loss_sum, metric_sum, count) of one batch as one float64 tensor, summed over batches on device.

    The metric is correct predictions (classification) or absolute error summed per element (regression).
    """
    n = targets.shape[0]
    if task == "classification":
        metric = correct(outputs, targets).to(torch.float64)
        count = torch.tensor(n, dtype=torch.float64, device=outputs.device)
        return torch.stack([loss.detach().to(torch.float64) * n, metric, count])
    elems = targets.numel()
    metric = (outputs.detach() - targets).abs().sum().to(torch.float64)
    return torch.stack([loss.detach().to(torch.float64) * elems, metric,
                        torch.tensor(elems, dtype=torch.float64, device=outputs.device)])


def finish_stats(task: str, stats: Tensor, prefix: str = "") -> dict[str, float]:
    """Turn summed `batch_stats` into {loss, accuracy} or {loss, mae} (names prefixed, e.g. "val_")."""
    loss_sum, metric_sum, count = stats.tolist()
    count = max(count, 1.0)
    name = "accuracy" if task == "classification" else "mae"
    return {f"{prefix}loss": loss_sum / count, f"{prefix}{name}": metric_sum / count}


def mean_baseline_mse(train_targets: Tensor, test_targets: Tensor) -> float:
    """MSE on `test_targets` of the trivial model that always predicts the training targets' mean.

    The mean is taken per target position (over samples only), the best constant prediction. Example:
    mean_baseline_mse(tensor([[0.], [2.]]), tensor([[1.], [3.]])) == 2.0
    """
    mean = train_targets.double().mean(0, keepdim=True)  # (1, *target_shape)
    return float(((test_targets.double() - mean) ** 2).mean())
