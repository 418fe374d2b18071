"""Early stopping of hopeless runs by an outside judge (a hyperparameter search's pruner).

The training layer knows nothing about the search: the judge is a plain `report(epoch, value) -> bool`
callable, called once per epoch with the monitored metric; True stops training after that epoch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from zenlearn.training.callbacks import Callback

Report = Callable[[int, float], bool]
"""report(epoch, value) -> stop: epoch counts from 0; value is the monitored metric of that epoch."""


class Pruning(Callback):
    """Report `monitor` after every epoch and stop when the judge says the run is hopeless.

    Args:
        monitor: The epoch-log metric to report (e.g. "val_accuracy").
        report: The judge, `report(epoch, value) -> bool`.

    Example:
        >>> cb = Pruning("val_accuracy", lambda epoch, value: value < 0.5)
        >>> cb.pruned_epoch is None
        True
    """

    def __init__(self, monitor: str, report: Report) -> None:
        self.monitor, self.report = monitor, report
        self.pruned_epoch: int | None = None

    def on_train_begin(self, logs: dict[str, Any]) -> None:
        self.pruned_epoch = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
        value = logs.get(self.monitor)
        if value is None:
            return
        if self.report(epoch, float(value)):
            self.trainer.stop_training = True
            self.pruned_epoch = epoch
