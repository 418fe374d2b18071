"""The one place that knows a result folder's files: their names, their readers and writers, and the
`--out` checks every command makes before it writes anything.

A training run folder holds `config.yaml` (the resolved config), `data.json` (the dataset spec),
`metrics.csv` (one row per epoch), `checkpoint.pt` (resumable), `model.safetensors` (final weights),
`summary.json` and `report.html`; with options also `grad_norms.csv` and `tb/`, and for a table
`preprocess.json`. A comparison folder holds
`results.csv`, `summary.csv` and `compare.json`; a distillation folder `distill.yaml` and a
`summary.json` naming teacher and students; a reproduction folder `reproduce.json`.
Every file is written atomically (`zenlearn.io.atomic`).

Every result folder also says what its process is doing: `state.json` is rewritten (atomically) every
`HEARTBEAT` seconds while the run is running (pid, host, heartbeat time) and once at its end (finished,
stopped, or failed with a one-line reason); a reader computes "interrupted" from a running state whose
process is gone or whose heartbeat is stale (`RunDir.read_state`). A training run appends its progress
and every epoch's metrics to `events.jsonl`, one JSON object per line, never rewritten, so a follower
can resume at a line number (`EventTail`). A run started by `zenlearn.workflows.launch` writes its
output to `output.log`.
"""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from zenlearn.errors import UsageError
from zenlearn.io.atomic import write_text
from zenlearn.io.live import HEARTBEAT, EventLog, alive, process_start
from zenlearn.io.summary import RunSummary

CONFIG = "config.yaml"
DATA = "data.json"
METRICS = "metrics.csv"
CHECKPOINT = "checkpoint.pt"
WEIGHTS = "model.safetensors"
SUMMARY = "summary.json"
REPORT = "report.html"
GRAD_NORMS = "grad_norms.csv"
TENSORBOARD = "tb"
RESULTS = "results.csv"        # comparison: one row per variant and seed
STATS = "summary.csv"          # comparison: statistics per variant
COMPARE = "compare.json"       # comparison: its plan (base config, varied keys, seeds)
DISTILL = "distill.yaml"       # distillation: the distillation options
REPRODUCE = "reproduce.json"   # reproduction: every experiment's rows and claims
TUNE = "tune.json"             # hyperparameter search: study, storage (password masked), space, best trial
STUDY = "study.csv"            # hyperparameter search: one row per trial
STATE = "state.json"           # every result folder: running (pid, host, heartbeat), finished, stopped, failed
EVENTS = "events.jsonl"        # training run: progress and epoch metrics, one JSON object per line, append-only
LOG = "output.log"             # a launched run's stdout and stderr (`zenlearn.workflows.launch`)
PREPROCESS = "preprocess.json" # table runs: the preprocessing fitted on the training split (column roles, statistics)
ERROR = "error.txt"            # a comparison's failed run: its one-line error
VAL_CURVES = "val_curves.png"  # comparison: validation curves per variant
FINAL_METRIC = "final_metric.png"  # comparison: the ranking metric per variant and seed
RESULTS_MD = "results.md"      # reproduction (and quickstart): the tables and claims, as Markdown
QUICKSTART = "quickstart.json"  # quickstart: one row per model (published and measured accuracy, run folders)
STUDY_DB = "study.db"          # hyperparameter search: the default SQLite storage
CELLS_DB = "cells.db"          # compare / distill --sweep / reproduce with --workers: the cells' SQLite storage
BEST = "best.yaml"             # hyperparameter search: the best trial's config
HISTORY = "history.png"        # hyperparameter search: value per trial
PARAMS = "params.png"          # hyperparameter search: value against each parameter
IMPORTANCES = "importances.png"  # hyperparameter search: parameter importances
LR_FIND_CSV, LR_FIND_PNG, LR_FIND_JSON = "lr_find.csv", "lr_find.png", "lr_find.json"  # the LR range test
SWEEP_CSV, SWEEP_JSON, SWEEP_PNG = "sweep.csv", "sweep.json", "sweep.png"  # distillation: the T x alpha sweep
RACE = "race.json"             # lab race (a comparison folder too): its lanes, step limit, 2-D grid
CONTROL = "control.json"       # lab race: commands from the page (a lane's LR, rewind, stop), rewritten atomically
CHANGES = "changes.json"       # a race lane's run: what changed while it ran (LR changes, rewinds, a stop), by step
BOUNDARY = "boundary.png"      # a race lane's run on 2-D data: its final decision boundary
LAUNCH_FILES = (STATE, LOG)
"""What a launcher writes into a new run folder before the run starts: the folder still counts as empty."""
RUN_FILES = (CHECKPOINT, WEIGHTS, SUMMARY, METRICS, EVENTS, PREPROCESS, CHANGES, BOUNDARY)
"""What a fresh start clears, so that no stale checkpoint or result survives beside a new config."""
FINISHED = (CONFIG, DATA, WEIGHTS)
"""What a finished run must hold to be evaluated, predicted with or reported."""


def check_out(out: str | Path, *, may_hold_files: bool, hint: str) -> Path:
    """Refuse an `--out` that is a file, or that already holds files unless `may_hold_files`.

    Args:
        out: The output folder.
        may_hold_files: An existing non-empty folder is fine (`--overwrite`, `--resume`).
        hint: What to pass instead, ending the message ("pass --overwrite to replace them, …").

    Example:
        >>> check_out("/", may_hold_files=False, hint="choose another --out")
        Traceback (most recent call last):
        zenlearn.errors.UsageError: --out / already holds files; choose another --out
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; choose a folder path")
    if out.is_dir() and not may_hold_files and any(p.name not in LAUNCH_FILES for p in out.iterdir()):
        raise UsageError(f"--out {out} already holds files; {hint}")
    return out


def make_dir(out: str | Path) -> Path:
    """Create folder `out` (and its parents); a path that cannot be created is a `UsageError`."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"--out {out}: cannot create the folder ({e.strerror}); choose a path you can "
                         f"write to") from None
    return out


def read_json(path: str | Path) -> Any:
    """Parse a JSON file of a result folder; a corrupt file is a `UsageError` naming it."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise UsageError(f"{path} is not readable JSON ({e}); rerun the command that wrote it") from None


def write_json(path: str | Path, obj: Any) -> None:
    """Write `obj` as indented JSON, atomically."""
    write_text(path, json.dumps(obj, indent=2))


def write_csv(path: str | Path, rows: Sequence[Mapping[str, Any]], columns: Sequence[str] = (),
              last: Sequence[str] = ()) -> None:
    """Write `rows` as CSV, atomically: the `columns` first, then every other key in the order first seen,
    and the `last` ones (present in a row) at the end. The one CSV writer of zenlearn's files.

    Example:
        >>> write_csv(tmp / "t.csv", [{"b": 1, "a": 2}, {"c": 3}], columns=["a"], last=["b"])
        >>> (tmp / "t.csv").read_text().splitlines()
        ['a,c,b', '2,,1', ',3,']
    """
    cols = list(columns)
    for row in rows:
        cols += [k for k in row if k not in cols]
    cols = [c for c in cols if c not in last] + [c for c in last if c in cols]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    write_text(path, buf.getvalue())


def read_csv(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a CSV file with numeric cells converted to float (empty cells become None)."""
    with open(path, newline="") as f:
        return [{k: _num(v) for k, v in row.items()} for row in csv.DictReader(f)]


def _num(v: str | None) -> Any:
    if v is None or v == "":
        return None
    try:
        return float(v)
    except ValueError:
        return v


def read_curves(run_dir: str | Path) -> dict[str, list[float]]:
    """A run's metrics.csv as {column: per-epoch values}: numeric columns only, {} if the file is missing."""
    path = Path(run_dir) / METRICS
    if not path.is_file():
        return {}
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    out: dict[str, list[float]] = {}
    for col in rows[0] if rows else []:
        try:
            out[col] = [float(r[col]) for r in rows]
        except (TypeError, ValueError):
            continue
    return out


class RunDir:
    """A training run folder: its file paths, its checks and its plain-data readers.

    Args:
        path: The folder.

    Example:
        >>> rd = RunDir("runs/cnn")
        >>> rd.summary.name, rd.weights.name
        ('summary.json', 'model.safetensors')
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    config = property(lambda self: self.path / CONFIG)
    data = property(lambda self: self.path / DATA)
    metrics = property(lambda self: self.path / METRICS)
    checkpoint = property(lambda self: self.path / CHECKPOINT)
    weights = property(lambda self: self.path / WEIGHTS)
    summary = property(lambda self: self.path / SUMMARY)
    report = property(lambda self: self.path / REPORT)
    grad_norms = property(lambda self: self.path / GRAD_NORMS)
    tensorboard = property(lambda self: self.path / TENSORBOARD)
    state = property(lambda self: self.path / STATE)
    events = property(lambda self: self.path / EVENTS)
    log = property(lambda self: self.path / LOG)
    preprocess = property(lambda self: self.path / PREPROCESS)
    changes = property(lambda self: self.path / CHANGES)
    boundary = property(lambda self: self.path / BOUNDARY)

    def check(self, *, overwrite: bool) -> "RunDir":
        """Refuse a file in the way, or a folder that already holds files unless `overwrite` (or resuming)."""
        check_out(self.path, may_hold_files=overwrite,
                  hint=f"pass --overwrite to replace them, --resume {self.path} to continue an interrupted run, "
                       f"or choose another --out")
        return self

    def create(self, *, overwrite: bool) -> "RunDir":
        """`check`, then create the folder."""
        self.check(overwrite=overwrite)
        make_dir(self.path)
        return self

    def clear_results(self) -> None:
        """Remove the files of an earlier run (`RUN_FILES`): a fresh start leaves nothing stale to resume."""
        for name in RUN_FILES:
            (self.path / name).unlink(missing_ok=True)

    def check_finished(self) -> "RunDir":
        """Refuse a path that is not a finished run folder (one of `FINISHED` missing)."""
        if not self.path.is_dir():
            raise UsageError(f"RUN_DIR {self.path} is not a folder; pass a run folder made by `zenlearn train`")
        for name in FINISHED:
            if not (self.path / name).is_file():
                raise UsageError(f"{self.path} has no {name}; is it a finished zenlearn run folder?")
        return self

    def read_data_spec(self) -> dict[str, Any]:
        """`data.json` as a dict; a corrupt file is a `UsageError`."""
        try:
            d = json.loads(self.data.read_text())
            d["input_shape"] = tuple(d["input_shape"])
        except (ValueError, TypeError, KeyError) as e:
            raise UsageError(f"{self.data} is corrupt ({e}); retrain the run") from None
        return d

    def read_preprocess(self) -> dict[str, Any] | None:
        """`preprocess.json` (a table run's fitted preprocessing), or None for a run on other data."""
        return read_json(self.preprocess) if self.preprocess.is_file() else None

    def read_summary(self) -> RunSummary | None:
        """`summary.json` as a `RunSummary`, or None when the run has not finished (no file, or not an object)."""
        d = read_json(self.summary) if self.summary.is_file() else None
        return RunSummary.from_dict(d) if isinstance(d, dict) else None

    def write_summary(self, summary: RunSummary) -> None:
        """Write `summary.json` atomically."""
        write_json(self.summary, summary.to_dict())

    def read_metrics(self) -> list[dict[str, Any]]:
        """`metrics.csv` rows (numbers as floats), or [] when there are none yet."""
        return read_csv(self.metrics) if self.metrics.is_file() else []

    def write_state(self, state: str, **fields: Any) -> None:
        """Write `state.json` atomically: `state` ("running", "finished", "stopped" or "failed"), this
        process's pid and host, the time (the heartbeat) and `fields` (e.g. `reason`)."""
        write_json(self.state, {"state": state, "pid": os.getpid(), "host": socket.gethostname(),
                                "started": process_start(os.getpid()), "heartbeat": time.time(),
                                "heartbeat_every": HEARTBEAT, **fields})

    def read_state(self, now: float | None = None) -> dict[str, Any]:
        """`state.json` with "interrupted" computed: a running state whose process is gone (this host) or
        whose heartbeat is older than two heartbeats (another host). A folder without the file reads as
        "finished" when it has `summary.json`, else "unknown".

        Example:
            >>> RunDir(tmp / "none").read_state()["state"]
            'unknown'
        """
        try:
            st = json.loads(self.state.read_text())
            st["state"] = str(st["state"])
        except (OSError, ValueError, TypeError, KeyError):
            return {"state": "finished" if self.summary.is_file() else "unknown"}
        if st["state"] == "running" and not alive(st, time.time() if now is None else now):
            st["state"] = "interrupted"
        return st

    def append_event(self, kind: str, **fields: Any) -> None:
        """Append one event (a line of JSON with `kind` and the time `t`) to `events.jsonl`."""
        with EventLog(self.events) as log:
            log.append(kind, **fields)

    def is_run(self) -> bool:
        """Whether the folder looks like a training run (config.yaml with metrics.csv or summary.json)."""
        return self.config.is_file() and (self.metrics.is_file() or self.summary.is_file())


LAUNCHED_INTO = "ZENLEARN_LAUNCHED_INTO"
"""Environment variable naming the run folder a launcher started this process for."""


def launch_failed(reason: str) -> None:
    """In a launched process that fails before its run takes over `state.json` (bad input the command line
    refuses), write "failed" with `reason` where the launcher wrote this process's "running" state."""
    folder = os.environ.get(LAUNCHED_INTO)
    if not folder:
        return
    rd = RunDir(folder)
    st = rd.read_state()
    if st["state"] == "running" and st.get("pid") == os.getpid():
        rd.write_state("failed", reason=reason, command=st.get("command"))
