"""Launching from the browser: the form built from `TrainConfig`'s fields, its server-side check (the
CLI's), and the queue that starts each run as its own process through `zenlearn.workflows.launch`.
"""

from __future__ import annotations

import subprocess
import time
from collections import deque
from pathlib import Path
from typing import Any

from zenlearn.config import TrainConfig, coerce, describe_type, field_help, field_names, field_types
from zenlearn.config.fields import changed_flags
from zenlearn.data import DATASETS
from zenlearn.data.cache import CACHE_MODES
from zenlearn.errors import UsageError
from zenlearn.io.rundir import RunDir
from zenlearn.nn.activations import ACTIVATIONS
from zenlearn.nn.build import MODELS
from zenlearn.nn.inits import INITS
from zenlearn.optim.optimizers import OPTIMIZERS
from zenlearn.optim.schedules import SCHEDULES
from zenlearn.training.build import check_config
from zenlearn.workflows.launch import launch, stop
from zenlearn.workflows.train import default_out

CHOICES = {"data": DATASETS, "model": MODELS, "activation": ACTIVATIONS, "optimizer": OPTIMIZERS, "init": INITS,
           "schedule": SCHEDULES}
"""The registries that give a field its choices (the form offers them; `check_config` enforces them)."""
SERVER_FIELDS = ("out", "overwrite")
"""Fields the server decides: a run goes into a new folder under the root."""


def form_fields() -> list[dict[str, Any]]:
    """One entry per `TrainConfig` field: name, flag, type, kind of input, default, help and choices.

    Example:
        >>> f = next(f for f in form_fields() if f["name"] == "optimizer")
        >>> f["flag"], f["default"], "adam" in f["choices"]
        ('--optimizer', 'adam', True)
    """
    helps, types, defaults = field_help(TrainConfig), field_types(TrainConfig), TrainConfig()
    out = []
    for name in field_names(TrainConfig):
        if name in SERVER_FIELDS:
            continue
        tp, default = types[name], getattr(defaults, name)
        choices = list(CHOICES[name].names()) if name in CHOICES else list(CACHE_MODES) if name == "cache" else None
        out.append({"name": name, "flag": "--" + name.replace("_", "-"), "type": describe_type(tp),
                    "input": "checkbox" if tp is bool else "text", "help": helps.get(name, ""),
                    "default": list(default) if isinstance(default, tuple) else default, "choices": choices})
    return out


def check_form(values: dict[str, Any], root: Path) -> TrainConfig:
    """The `TrainConfig` of a submitted form, checked exactly as the CLI checks flags; its `out` is a new
    folder under `root` (the form's `out` names it, else the CLI's default name). Raises `UsageError`.

    Example:
        >>> check_form({"data": "mnist1d", "lr": "-1"}, tmp)
        Traceback (most recent call last):
        zenlearn.errors.UsageError: invalid config: lr must be > 0 and finite, got -1.0
    """
    if not isinstance(values, dict):
        raise UsageError("expected a JSON object of option: value")
    values = {k: v for k, v in values.items() if v is not None and v != ""}
    name = str(values.pop("out", "") or "")
    if "overwrite" in values:
        raise UsageError("overwrite is not offered here: a launch always writes a new run folder")
    types = field_types(TrainConfig)
    for k, v in values.items():  # as the CLI does for flags: the message names the option and its flag
        if k in types:
            coerce(k, types[k], v)
    cfg = check_config(TrainConfig.from_dict(values, source="form"))
    name = name or default_out(cfg).name
    if "/" in name or "\\" in name or name.startswith(".") or "\x00" in name:
        raise UsageError(f"out must be a folder name inside the served folder (no '/', not hidden), got {name!r}")
    rd = RunDir(root / name).check(overwrite=False)
    return cfg.replace(out=str(rd.path))


def to_args(cfg: TrainConfig) -> list[str]:
    """`zenlearn train` arguments that rebuild `cfg`: one flag per field that differs from its default.

    Example:
        >>> to_args(TrainConfig(data="sine", hidden=(8, 8), report=False, out="r"))
        ['train', '--data', 'sine', '--hidden', '8,8', '--out', 'r', '--no-report', '--quiet']
    """
    return ["train", *changed_flags(cfg), "--quiet"]


class Queue:
    """Runs waiting for a free slot, and the processes this server started.

    Args:
        max_jobs: Runs that may train at once. Defaults to 1.
    """

    def __init__(self, max_jobs: int = 1) -> None:
        self.max_jobs = max(1, int(max_jobs))
        self.waiting: deque[tuple[Path, list[str], float]] = deque()
        self.procs: dict[Path, subprocess.Popen] = {}

    def submit(self, out: Path, args: list[str]) -> None:
        """Queue `zenlearn ARGS…` into `out`; refused if that folder is already queued or running. A run that
        has stopped but whose process is still exiting is resumed once that process has gone."""
        self.tick()
        if self.is_waiting(out) or (out in self.procs and
                                                          RunDir(out).read_state()["state"] == "running"):
            raise UsageError(f"{out.name} is already queued or running")
        self.waiting.append((out, list(args), time.time()))
        self.tick()

    def busy(self, out: Path) -> bool:
        """Whether `out` is waiting in the queue or its process (started here) has not been reaped yet."""
        return out in self.procs or self.is_waiting(out)

    def is_waiting(self, out: Path) -> bool:
        return any(o == out for o, _, _ in self.waiting)

    def cancel(self, out: Path) -> bool:
        """Take `out` off the queue; True if it was waiting."""
        n = len(self.waiting)
        self.waiting = deque(w for w in self.waiting if w[0] != out)
        return len(self.waiting) < n

    def stop(self, out: Path) -> bool:
        """Cancel a waiting run or ask a running one to stop (SIGTERM: checkpoint, exit)."""
        return self.cancel(out) or stop(out)

    def tick(self) -> None:
        """Forget ended processes, then start waiting runs while fewer than `max_jobs` train."""
        for out, p in list(self.procs.items()):
            if p.poll() is not None:
                del self.procs[out]
        for job in list(self.waiting):
            if len(self.procs) >= self.max_jobs:
                break
            if job[0] not in self.procs:  # else its previous process is still exiting: next tick
                self.waiting.remove(job)
                self.procs[job[0]] = launch(job[1], job[0])

    def queued(self) -> list[dict[str, Any]]:
        """The waiting runs: folder, command, time queued."""
        return [{"out": out, "command": args[0], "time": t} for out, args, t in self.waiting]

    def close(self) -> None:
        """Forget the queue; the running processes keep running (they are their own sessions)."""
        self.waiting.clear()
