"""`LiveEvents`: a training run's progress in its folder's `events.jsonl`, for anything that follows it live."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from zenlearn.io.live import EventLog
from zenlearn.training.callbacks import Callback


class LiveEvents(Callback):
    """Append "start", "progress" and "epoch" events to `events.jsonl` (see `zenlearn.io.live.EventLog`).

    - "start": where training (re)starts: `epoch` and `step` done, `epochs`, `steps` per epoch. A resumed run
      appends a new "start"; a follower drops what it drew from that epoch on (the epoch is trained again).
    - "progress": `per_epoch - 1` times within each epoch: `epoch` (from 1), `step`, `steps` and the running
      training metrics (e.g. `loss`, `accuracy`).
    - "epoch": every epoch's metrics as in `metrics.csv` (`epoch` from 1, `loss`, `val_loss`, `lr`, …).

    Args:
        path: The events file.
        epochs: Total epochs of the run.
        steps: Batches per epoch.
        per_epoch: Events per epoch, the epoch's own included. Defaults to 4.

    Example:
        >>> cb = LiveEvents(tmp / "events.jsonl", epochs=2, steps=100)
        >>> cb.every
        25
    """

    def __init__(self, path: str | Path, *, epochs: int, steps: int, per_epoch: int = 4) -> None:
        self.path, self.epochs, self.steps = Path(path), epochs, steps
        self.every = max(1, math.ceil(steps / max(1, per_epoch)))
        self.log: EventLog | None = None

    def on_train_begin(self, logs: dict[str, Any]) -> None:
        self.log = EventLog(self.path).__enter__()
        self.log.append("start", epoch=self.trainer.epoch, step=self.trainer.batch_in_epoch, epochs=self.epochs,
                        steps=self.steps)

    def on_batch_end(self, step: int, logs: dict[str, Any]) -> None:
        if self.log is not None and (step + 1) % self.every == 0 and step + 1 < self.steps:
            self.log.append("progress", epoch=self.trainer.epoch + 1, step=step + 1, steps=self.steps,
                            **self.trainer.running_metrics())

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
        if self.log is not None:
            self.log.append("epoch", epoch=epoch + 1,
                            **{k: v for k, v in logs.items() if isinstance(v, (int, float)) and math.isfinite(v)})

    def on_train_end(self, logs: dict[str, Any]) -> None:
        if self.log is not None:
            self.log.__exit__()
            self.log = None
