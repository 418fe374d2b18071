"""`LaneControl`: the callback that makes an ordinary `train_run` a race lane. At each batch end it applies the
page's commands (a new learning rate, a rewind, a stop), reports the lane's progress to the race's
`events.jsonl`, draws the decision boundary when it is due, stops at the step limit, and hands the turn on.
"""

from __future__ import annotations

import base64
import copy
import math
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from zenlearn.io.atomic import write_bytes
from zenlearn.io.live import EventLog
from zenlearn.io.rundir import RunDir, write_json
from zenlearn.training.callbacks import Callback
from zenlearn.workflows.race.boundary import Boundary
from zenlearn.workflows.race.turns import Turns

BOUNDARY_SHARE = 0.05
"""Boundaries take at most this share of a lane's time: one is drawn once the steps since the last took 20 ×
as long as drawing it did (half the issue's 10 % budget)."""
REPORTS_PER_EPOCH = 8
"""Progress points per epoch on the page (and at least one every 50 steps)."""


class RaceLog:
    """The race folder's `events.jsonl`, shared by the lanes' threads and the race's (one lock).

    Args:
        path: The events file.
        t0: The race's start (`time.perf_counter()`); each event carries `wall`, the seconds since.
    """

    def __init__(self, path: str | Path, t0: float) -> None:
        self.log, self.t0, self.lock = EventLog(path).__enter__(), t0, threading.Lock()

    def append(self, kind: str, **fields: Any) -> None:
        with self.lock:
            self.log.append(kind, wall=round(time.perf_counter() - self.t0, 4), **fields)

    def close(self) -> None:
        self.log.__exit__()


class LaneControl(Callback):
    """Lane `lane` of a race (see the module docstring).

    Args:
        lane: The lane's number (0, 1, …).
        turns: The race's `Turns`.
        log: The race's `RaceLog`.
        run: The lane's run folder (for `changes.json` and `boundary.png`).
        steps: Batches per epoch.
        max_steps: Stop after this many optimizer steps. Defaults to None.
        boundary: Draws the lane's decision boundary on 2-D data. Defaults to None.
    """

    def __init__(self, lane: int, turns: Turns, log: RaceLog, run: str | Path, *, steps: int,
                 max_steps: int | None = None, boundary: Boundary | None = None) -> None:
        self.lane, self.turns, self.log, self.rd = lane, turns, log, RunDir(run)
        self.max_steps, self.boundary = max_steps, boundary
        self.every = max(1, min(50, math.ceil(steps / REPORTS_PER_EPOCH)))
        self.commands: deque[dict[str, Any]] = deque()  # appended by the race's thread
        self.changes: list[dict[str, Any]] = []
        self.last_png = b""
        self.busy = self.since_draw = self.draw_cost = 0.0
        self.resumed = time.perf_counter()
        self.prev: Any = None
        self.stopped_by: str | None = None

    # ------------------------------------------------------------------ hooks
    def on_train_begin(self, logs: dict[str, Any]) -> None:
        t = self.trainer
        self.initial = (copy.deepcopy(t.model.state_dict()), copy.deepcopy(t.optimizer.state_dict()))
        self.log.append("lane", lane=self.lane, step=t.global_step, lr=self._lr())
        self._draw(reason="start")

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any]) -> None:
        self.prev = None  # the running sums start again

    def on_batch_end(self, step: int, logs: dict[str, Any]) -> None:
        t = self.trainer
        while self.commands:
            self._apply(self.commands.popleft(), logs)
        if t.global_step % self.every == 0:
            self._report()
        worked = self.since_draw + time.perf_counter() - self.resumed  # this lane's seconds since its last map
        if self.boundary is not None and worked >= self.draw_cost / BOUNDARY_SHARE:
            self._draw()
        if self.max_steps is not None and t.global_step >= self.max_steps and not t.stop_training:
            self._stop("limit", f"the step limit ({self.max_steps})")
        now = time.perf_counter()
        self.since_draw += now - self.resumed
        self.turns.next(self.lane)
        self.resumed = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
        values = {k: v for k, v in logs.items() if isinstance(v, (int, float)) and math.isfinite(v)}
        self.log.append("epoch", lane=self.lane, epoch=epoch + 1, step=self.trainer.global_step, **values)

    def on_train_end(self, logs: dict[str, Any]) -> None:
        if self.boundary is not None:
            self._draw(reason="end")
            write_bytes(self.rd.boundary, self.last_png)
        write_json(self.rd.changes, {"changes": self.changes, "stopped": self.stopped_by})

    # ------------------------------------------------------------------ what the hooks do
    def _lr(self) -> float:
        return float(self.trainer.optimizer.param_groups[0]["lr"])

    def _report(self) -> None:
        """The training loss and metrics over the steps since the last report (the running sums' difference)."""
        t = self.trainer
        stats = t.running_stats()
        if stats is None:
            return
        window = stats - self.prev if self.prev is not None else stats
        self.prev = stats
        self.log.append("step", lane=self.lane, step=t.global_step, epoch=t.epoch + 1, lr=self._lr(),
                        **t.task.finish_stats(window))

    def _apply(self, command: dict[str, Any], logs: dict[str, Any]) -> None:
        t, action = self.trainer, command["action"]
        change: dict[str, Any] = {"step": t.global_step, "epoch": t.epoch + 1, "action": action}
        if action == "lr":
            change.update(lr=command["value"], was=self._lr())
            if hasattr(t.scheduler, "set_peak"):
                t.scheduler.set_peak(command["value"])
            else:
                for g in t.optimizer.param_groups:
                    g["lr"] = command["value"]
            logs["lr"] = self._lr()  # this epoch's metrics.csv row shows the LR it was changed to
        elif action == "rewind":
            lr = self._lr()
            t.model.load_state_dict(self.initial[0])
            t.optimizer.load_state_dict(self.initial[1])
            for g in t.optimizer.param_groups:  # the weights go back; the LR set on the page stays
                g["lr"] = lr
        self.changes.append(change)
        self.log.append("change", lane=self.lane, **{k: v for k, v in change.items() if k != "action"},
                        action=action, id=command.get("id"))
        if action == "rewind" and self.boundary is not None:
            self._draw(reason="rewind")
        if action == "stop":
            self._stop("stop", command.get("by", "the page"))

    def _stop(self, why: str, by: str) -> None:
        self.trainer.stop_training = True
        self.stopped_by = f"stopped by {by} at step {self.trainer.global_step}"
        self.log.append("stopping", lane=self.lane, step=self.trainer.global_step, why=why)

    def _draw(self, reason: str = "") -> None:
        t0 = time.perf_counter()
        png = self.boundary.png(lambda g: self.trainer.predict(g, batch_size=len(g))) if self.boundary else b""
        self.draw_cost = time.perf_counter() - t0
        self.since_draw = 0.0
        self.resumed = time.perf_counter()
        if png:
            self.last_png = png
            self.log.append("boundary", lane=self.lane, step=self.trainer.global_step, reason=reason,
                            png=base64.b64encode(png).decode())
