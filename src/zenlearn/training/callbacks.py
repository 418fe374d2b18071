"""Callbacks: a base class with no-op hooks and the standard ones (early stopping, checkpoints, CSV, progress).

A `logs` dict is the only currency; a callback stops training by setting `trainer.stop_training`.
"""

from __future__ import annotations

import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch

from zenlearn.io.checkpoint import save_weights
from zenlearn.io.rundir import write_csv
from zenlearn.nn.tasks import metric_direction


class Callback:
    """Base class: override the hooks you need. `self.trainer` is set before `on_train_begin`."""

    trainer: Any
    """The `Trainer` running this callback (set by `fit`; not imported here, the trainer imports callbacks)."""

    def on_train_begin(self, logs: dict[str, Any]) -> None: ...
    def on_epoch_begin(self, epoch: int, logs: dict[str, Any]) -> None: ...
    def on_batch_end(self, step: int, logs: dict[str, Any]) -> None: ...
    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None: ...
    def on_train_end(self, logs: dict[str, Any]) -> None: ...


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved for `patience` epochs; optionally restore the best weights.

    Args:
        monitor: Metric name in the epoch logs. Defaults to "val_loss".
        patience: Epochs without improvement before stopping. Defaults to 3.
        mode: "min" or "max"; "auto" takes the direction a task gives the metric (`metric_direction`: max
            for accuracy and R², min for MAE, RMSE, losses and any other column). Defaults to "auto".
        min_delta: Smallest change that counts as improvement. Defaults to 0.
        restore_best_weights: Load the best epoch's weights at the end. Defaults to True.

    Example:
        >>> cb = EarlyStopping("val_accuracy", patience=2)
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 3, mode: str = "auto", min_delta: float = 0.0,
                 restore_best_weights: bool = True) -> None:
        self.monitor, self.patience, self.min_delta = monitor, patience, min_delta
        self.mode = ("max" if metric_direction(monitor) else "min") if mode == "auto" else mode
        self.restore_best_weights = restore_best_weights

    def on_train_begin(self, logs: dict[str, Any]) -> None:
        self.best = -math.inf if self.mode == "max" else math.inf
        self.wait, self.best_epoch, self.best_state, self.stopped_epoch = 0, -1, None, None

    def _better(self, value: float) -> bool:
        if self.mode == "max":
            return value > self.best + self.min_delta
        return value < self.best - self.min_delta

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
        value = logs.get(self.monitor)
        if value is None:
            return
        if self._better(value):
            self.best, self.wait, self.best_epoch = value, 0, epoch
            if self.restore_best_weights:
                self.best_state = {k: v.detach().clone() for k, v in self.trainer.model.state_dict().items()}
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.trainer.stop_training = True
                self.stopped_epoch = epoch

    def state_dict(self) -> dict[str, Any]:
        """What a resumed run needs to stop at the same epoch with the same best weights."""
        return {"best": self.best, "wait": self.wait, "best_epoch": self.best_epoch,
                "best_state": self.best_state, "stopped_epoch": self.stopped_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.wait, self.best_epoch = float(state["best"]), int(state["wait"]), int(state["best_epoch"])
        self.best_state, self.stopped_epoch = state["best_state"], state["stopped_epoch"]

    def on_train_end(self, logs: dict[str, Any]) -> None:
        if self.restore_best_weights and self.best_state is not None and self.stopped_epoch is not None:
            self.trainer.model.load_state_dict(self.best_state)
            logs["restored_epoch"] = self.best_epoch

    def outcome(self) -> dict[str, Any]:
        """`stopped_early` and the (1-based) `best_epoch` of `monitor`, for a run's summary.json."""
        return {"stopped_early": self.stopped_epoch is not None,
                "best_epoch": self.best_epoch + 1 if self.best_epoch >= 0 else None}

    def message(self, epochs: int) -> str | None:
        """One line saying at which epoch training stopped and whose weights were kept; None if it did not stop.

        Example:
            >>> cb = EarlyStopping("val_loss", patience=2)
            >>> cb.on_train_begin({})
            >>> cb.best, cb.best_epoch, cb.best_state, cb.stopped_epoch = 0.25, 3, {}, 5  # as after 6 epochs
            >>> print(cb.message(20))
            early stopping: val_loss did not improve for 2 epochs; stopped after epoch 6 of 20, kept the weights of epoch 4 (val_loss 0.25)
        """
        if self.stopped_epoch is None:
            return None
        kept = (f"kept the weights of epoch {self.best_epoch + 1} ({self.monitor} {self.best:.4g})"
                if self.restore_best_weights and self.best_state is not None else "kept the last epoch's weights")
        return (f"early stopping: {self.monitor} did not improve for {self.patience} epochs; stopped after epoch "
                f"{self.stopped_epoch + 1} of {epochs}, {kept}")


class KeepBest(Callback):
    """Remember the weights of the epoch with the best `monitor` and load them when training ends (Keras's
    `ModelCheckpoint(monitor, save_best_only=True)` reloaded after `fit`, as Fawaz et al. keep their model with the
    lowest training loss), so that the evaluation, the saved weights and the report use them.

    Args:
        monitor: A column of the epoch logs ("loss": the training loss; "val_loss", "val_accuracy", …).
            Defaults to "loss".
        mode: "min", "max" or "auto" (the metric's direction, as `EarlyStopping`'s). Defaults to "auto".

    Example:
        >>> cb = KeepBest("loss")
        >>> cb.on_train_begin({})
        >>> cb.best, cb.best_epoch = 0.05, 6  # as after an epoch 7 with the lowest loss so far
        >>> print(cb.message())
        kept the weights of epoch 7 (the lowest loss, 0.05)
    """

    def __init__(self, monitor: str = "loss", mode: str = "auto") -> None:
        self.monitor = monitor
        self.mode = ("max" if metric_direction(monitor) else "min") if mode == "auto" else mode

    def on_train_begin(self, logs: dict[str, Any]) -> None:
        self.best = -math.inf if self.mode == "max" else math.inf
        self.best_epoch, self.best_state = -1, None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
        value = logs.get(self.monitor)
        if value is None or not math.isfinite(value):
            return
        if value > self.best if self.mode == "max" else value < self.best:  # strictly better, as Keras's
            self.best, self.best_epoch = value, epoch
            self.best_state = {k: v.detach().clone() for k, v in self.trainer.model.state_dict().items()}

    def on_train_end(self, logs: dict[str, Any]) -> None:
        if self.best_state is not None:
            self.trainer.model.load_state_dict(self.best_state)
            logs["restored_epoch"] = self.best_epoch

    def state_dict(self) -> dict[str, Any]:
        """The best value, its epoch and its weights, so a resumed run keeps the same model."""
        return {"best": self.best, "best_epoch": self.best_epoch, "best_state": self.best_state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.best_epoch, self.best_state = float(state["best"]), int(state["best_epoch"]), state["best_state"]

    def kept_epoch(self) -> int | None:
        """The 1-based epoch whose weights were kept; None before any epoch logged `monitor`."""
        return self.best_epoch + 1 if self.best_epoch >= 0 else None

    def message(self) -> str:
        """One line naming the epoch whose weights were kept."""
        which = "highest" if self.mode == "max" else "lowest"
        return f"kept the weights of epoch {self.best_epoch + 1} (the {which} {self.monitor}, {self.best:.4g})"


class ModelCheckpoint(Callback):
    """Save weights (safetensors, atomically) after every epoch, or only when `monitor` improves.

    Args:
        path: File to write, e.g. "run/model.safetensors".
        monitor: Metric deciding "best". Defaults to "val_loss".
        save_best_only: Write only on improvement. Defaults to False (always the last epoch).
        mode: "min", "max" or "auto" (the metric's direction, as `EarlyStopping`'s). Defaults to "auto".
    """

    def __init__(self, path: str | Path, monitor: str = "val_loss", save_best_only: bool = False,
                 mode: str = "auto") -> None:
        self.path, self.monitor, self.save_best_only = Path(path), monitor, save_best_only
        self.mode = ("max" if metric_direction(monitor) else "min") if mode == "auto" else mode

    def on_train_begin(self, logs: dict[str, Any]) -> None:
        self.best = -math.inf if self.mode == "max" else math.inf

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
        value = logs.get(self.monitor)
        if self.save_best_only:
            if value is None or not (value > self.best if self.mode == "max" else value < self.best):
                return
            self.best = value
        save_weights(self.trainer.model, self.path)


class CSVLogger(Callback):
    """Write one row per epoch to a CSV file (rewritten atomically each epoch, so it is never half-written).

    Args:
        path: CSV file path.
        columns: Column order; other keys follow. Defaults to the keys of the first row.
    """

    def __init__(self, path: str | Path, columns: list[str] | None = None, rows: list[dict] | None = None) -> None:
        self.path, self.columns, self.rows = Path(path), columns, list(rows or [])

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
        self.rows.append({"epoch": epoch + 1, **{k: v for k, v in logs.items() if not isinstance(v, (dict, list))}})
        write_csv(self.path, self.rows, self.columns or ())

    def state_dict(self) -> dict[str, Any]:
        return {"rows": [dict(r) for r in self.rows]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rows = [dict(r) for r in state["rows"]]


class ProgressBar(Callback):
    """A live rich progress bar on a terminal, and one whole line per epoch on stdout.

    Without a terminal (logs, CI, pipes) there is no bar, only the epoch lines, each written whole in one
    piece. The bar goes to `stream` (stderr) and only when that is a terminal; `ZENLEARN_PROGRESS=1` / `0`
    (or `zenlearn train --progress` / `--no-progress`) turns it on or off whatever the detection says.

    Args:
        epochs: Total epochs (for "epoch 3/10").
        steps_per_epoch: Batches per epoch (the bar's length).
        stream: Where the bar is drawn. Defaults to sys.stderr.
    """

    def __init__(self, epochs: int, steps_per_epoch: int, stream: Any = None) -> None:
        self.epochs, self.steps = epochs, steps_per_epoch
        self.stream = stream or sys.stderr
        self.live = show_progress(self.stream)
        self.progress = None

    def on_train_begin(self, logs: dict[str, Any]) -> None:
        if self.live:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            console = Console(file=self.stream, force_terminal=True)
            self.progress = Progress(TextColumn("epoch {task.fields[epoch]}"), BarColumn(), MofNCompleteColumn(),
                                     TimeRemainingColumn(), TextColumn("{task.fields[msg]}"), transient=True,
                                     console=console, redirect_stdout=False, redirect_stderr=False)
            self.progress.start()

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any]) -> None:
        self.t0 = time.perf_counter()
        if self.progress is not None:
            self.task = self.progress.add_task("", total=self.steps, epoch=f"{epoch + 1}/{self.epochs}", msg="")

    def on_batch_end(self, step: int, logs: dict[str, Any]) -> None:
        if self.progress is not None and (step + 1) % 10 == 0:
            self.progress.update(self.task, completed=step + 1)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
        line = epoch_line(epoch, self.epochs, logs)
        if self.progress is not None:
            self.progress.remove_task(self.task)
            if _same_terminal(sys.stdout, self.stream):  # above the bar, which is redrawn below it
                self.progress.console.print(line, soft_wrap=True, highlight=False, markup=False)
                return
        sys.stdout.write(line + "\n")  # one write: the line stays whole between other processes' output
        sys.stdout.flush()

    def on_train_end(self, logs: dict[str, Any]) -> None:
        if self.progress is not None:
            self.progress.stop()


def epoch_line(epoch: int, epochs: int, logs: dict[str, Any]) -> str:
    """`epoch 3/10  loss 0.1234  accuracy 0.9612  …  (1.4s)`: one epoch's metrics on one line.

    Example:
        >>> epoch_line(2, 10, {"loss": 0.12345, "accuracy": 0.96, "seconds": 1.42, "lr": 0.001})
        'epoch 3/10  loss 0.1235  accuracy 0.96  (1.4s)'
    """
    # 4 significant digits, as everywhere in the CLI and the reports (zenlearn.report.html.fmt)
    parts = [f"{k} {v:.4g}" for k, v in logs.items() if isinstance(v, float) and k not in ("seconds", "train_seconds", "lr")]
    return f"epoch {epoch + 1}/{epochs}  " + "  ".join(parts) + f"  ({logs.get('seconds', 0):.1f}s)"


def show_progress(stream: Any) -> bool:
    """Whether to draw a live bar on `stream`: `ZENLEARN_PROGRESS` (1/0, true/false, on/off) if set, else
    whether `stream` is a terminal."""
    setting = os.environ.get("ZENLEARN_PROGRESS", "").strip().lower()
    if setting in ("1", "true", "yes", "on"):
        return True
    if setting in ("0", "false", "no", "off"):
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def _same_terminal(a: Any, b: Any) -> bool:
    try:
        return a.isatty() and b.isatty() and os.path.samestat(os.fstat(a.fileno()), os.fstat(b.fileno()))
    except (AttributeError, OSError, ValueError):
        return False


class GradientNorms(Callback):
    """Record the L2 norm of each layer's weight gradient: the first batch's, then each epoch's mean.

    Rows of `path` (CSV): `epoch` 0 is the very first batch (the network at initialization), then one row
    per epoch with the mean over its batches (every `every`-th batch). Columns are the layers with a weight
    matrix or kernel (Linear, Conv, RNN), input side first. Norms are read after the optimizer step (with
    --clip-grad they are the clipped gradients; with --precision 16, the loss-scaled ones). This is how a vanishing
    gradient shows: in a deep sigmoid MLP the first layers' norms are orders of magnitude below the last's.

    Args:
        path: CSV file to write (rewritten atomically each epoch).
        every: Accumulate every N-th batch (1: all). Defaults to 1.

    Example:
        >>> cb = GradientNorms("run/grad_norms.csv")
    """

    def __init__(self, path: str | Path, every: int = 1) -> None:
        self.path, self.every = Path(path), max(1, int(every))

    def on_train_begin(self, logs: dict[str, Any]) -> None:
        model = getattr(self.trainer.model, "module", self.trainer.model)
        self.layers = [(name, p) for name, p in model.named_parameters()
                       if p.requires_grad and p.ndim >= 2 and name.split(".")[-1].startswith("weight")]
        self.rows: list[dict[str, Any]] = []
        self.sums, self.count, self.first = None, 0, True

    def _norms(self) -> Any:
        return torch.stack([p.grad.detach().float().norm() if p.grad is not None else p.new_zeros((), dtype=torch.float32)
                            for _, p in self.layers])  # (layers,), stays on the device: no sync per batch

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any]) -> None:
        self.sums, self.count = None, 0

    def on_batch_end(self, step: int, logs: dict[str, Any]) -> None:
        if not self.layers or step % self.every:
            return
        norms = self._norms()
        if self.first:
            self.rows.append({"epoch": 0, **dict(zip(self._names(), norms.tolist()))})
            self.first = False
        self.sums = norms if self.sums is None else self.sums + norms
        self.count += 1

    def _names(self) -> list[str]:
        return [name.removesuffix(".weight") for name, _ in self.layers]

    def state_dict(self) -> dict[str, Any]:
        """Rows so far and the unfinished epoch's sums, so a resumed run writes the same CSV."""
        return {"rows": [dict(r) for r in self.rows], "sums": self.sums, "count": self.count, "first": self.first}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rows = [dict(r) for r in state["rows"]]
        self.sums, self.count, self.first = state["sums"], int(state["count"]), bool(state["first"])

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
        if self.sums is None:
            return
        self.rows.append({"epoch": epoch + 1, **dict(zip(self._names(), (self.sums / self.count).tolist()))})
        write_csv(self.path, self.rows, ["epoch", *self._names()])
