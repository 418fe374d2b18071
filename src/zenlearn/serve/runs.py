"""The result folders under the served root, as rows for the runs page and details for a run's page.

A folder is a result if `zenlearn.report.build.REPORTS` recognises it or if it has a `state.json` (a run
launched a moment ago). Rows are cached per folder and rebuilt when the folder's modification time
changes (every atomic write renames a file into it); a running state is rechecked on every listing, so a run
whose process died turns "interrupted" without any write (any other state changes only by a write, which
changes the folder's time).
"""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path
from typing import Any

import yaml

from zenlearn.errors import UsageError
from zenlearn.io.rundir import COMPARE, CONFIG, EVENTS, METRICS, RACE, STATE, SUMMARY, TUNE, RunDir, read_csv
from zenlearn.io.summary import RunSummary
from zenlearn.nn.tasks import first_metric, higher_is_better
from zenlearn.report.build import REPORTS
from zenlearn.serve.security import inside

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_FILES = 500
"""At most this many files are listed on a run's page."""


def folder(root: Path, rel: str) -> Path | None:
    """The result folder `rel` inside `root`, or None when it is outside (after symlinks) or not a folder."""
    path = inside(root, rel)
    return path if path is not None and path.is_dir() else None


def result_folders(root: Path) -> list[Path]:
    """Folders at most two levels below `root` that may be results (no hidden folders, no symlinks)."""
    def subdirs(p: Path) -> list[Path]:
        try:
            return [Path(e.path) for e in os.scandir(p)
                    if e.is_dir(follow_symlinks=False) and not e.name.startswith(".")]
        except OSError:
            return []

    first = subdirs(root)
    return first + [q for p in first for q in subdirs(p)]


def _kind(p: Path) -> str | None:
    kind = next((e.name for e in REPORTS if e.obj.detect(p)), None)
    return kind or ("run" if (p / STATE).is_file() else None)


class Listing:
    """The runs table of one root, cached per folder.

    Args:
        root: The served folder.

    Example:
        >>> [(r["path"], r["kind"], r["state"]) for r in Listing(run_dir + "/..").rows()]
        [('run', 'run', 'finished')]
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        self._cache: dict[Path, tuple[int, dict[str, Any] | None]] = {}
        self._lock = threading.Lock()  # requests read the table from worker threads

    def rows(self) -> list[dict[str, Any]]:
        """Every result folder's row (see `describe`), newest first."""
        with self._lock:
            return self._rows()

    def _rows(self) -> list[dict[str, Any]]:
        out, seen = [], set()
        for p in result_folders(self.root):
            seen.add(p)
            try:
                mtime = p.stat().st_mtime_ns
            except OSError:
                continue
            cached = self._cache.get(p)
            if cached is None or cached[0] != mtime:
                kind = _kind(p)
                row = describe(p, self.root, kind) if kind else None
                if row is not None:
                    st = RunDir(p).read_state()
                    row.update(state=_state(row, st), reason=st.get("reason"))
                cached = self._cache[p] = (mtime, row)
            if cached[1] is None:  # not a result folder
                continue
            row = dict(cached[1])
            if row["state"] == "running":  # the only state that changes without a write: its process may be gone
                st = RunDir(p).read_state()
                row.update(state=_state(row, st), reason=st.get("reason"))
            out.append(row)
        for p in set(self._cache) - seen:
            del self._cache[p]
        return sorted(out, key=lambda r: r["time"], reverse=True)


def _state(row: dict[str, Any], st: dict[str, Any]) -> str:
    if st["state"] == "unknown" and row["kind"] != "run":  # comparisons and studies write no state.json yet
        return "finished" if row.get("finished") else "unknown"
    return st["state"]


def describe(path: Path, root: Path, kind: str | None = None) -> dict[str, Any]:
    """One folder's row: path (relative to the root), kind, time, data, model, optimizer, epochs done and
    planned, the best validation (else training) metric over the epochs, the test metric, wall seconds."""
    kind = kind or _kind(path) or "run"
    summary = (_summary(path) if kind == "run" else None) or RunSummary()
    other = {} if kind == "run" else _json(path / SUMMARY)  # a distillation's summary of its three runs
    cfg = _row_config(path / CONFIG) if kind == "run" else {}
    manifest = _json(path / COMPARE) or _json(path / TUNE)
    cfg = cfg or manifest.get("base_config") or {}
    row: dict[str, Any] = {"path": path.relative_to(root).as_posix(), "kind": kind, "time": path.stat().st_mtime,
                           "data": cfg.get("data") or summary.data.get("name") or _name(other.get("data")),
                           "model": cfg.get("model"), "optimizer": cfg.get("optimizer"), "epochs": None,
                           "epochs_planned": cfg.get("epochs"), "metric": None, "best": None, "test": None,
                           "wall_seconds": summary.wall_seconds, "finished": bool(manifest.get("finished")),
                           "race": (path / RACE).is_file()}
    rows = read_csv(path / METRICS) if (path / METRICS).is_file() else []
    row["epochs"] = summary.epochs if summary.epochs is not None else len(rows)
    if rows:
        metric = first_metric(rows[0], ("val_", ""))
        values = [r[metric] for r in rows if isinstance(r.get(metric), float)] if metric else []
        if values:
            row.update(metric=metric, best=max(values) if higher_is_better(metric) else min(values))
        if row["wall_seconds"] is None:
            row["wall_seconds"] = sum(r.get("seconds") or 0 for r in rows)
    test = summary.test if isinstance(summary.test, dict) else {}
    name = first_metric(test)
    if name:
        row["test"] = {"metric": name, "value": test[name]}
    return row


def details(path: Path, root: Path) -> dict[str, Any]:
    """A run's page: its row, state, config, summary, epoch rows, whether it has events, files and figures."""
    rd = RunDir(path)
    files = []
    for dirpath, dirnames, names in os.walk(path):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        files += [Path(dirpath, n).relative_to(root).as_posix() for n in sorted(names) if not n.startswith(".")]
        if len(files) >= MAX_FILES:
            break
    row = describe(path, root)
    state, summary = rd.read_state(), _summary(path)
    row.update(state=_state(row, state), reason=state.get("reason"))
    return {**row, "config": _yaml(rd.config), "summary": summary.to_dict() if summary else {}, "state_file": state,
            "metrics": rd.read_metrics(), "events": (path / EVENTS).is_file(), "files": files[:MAX_FILES],
            "figures": [f for f in files if f.endswith((".png", ".svg"))]}


def _summary(path: Path) -> RunSummary | None:
    """The run's `RunSummary`; None when it has none or it cannot be read (the table shows what it can)."""
    try:
        return RunDir(path).read_summary()
    except UsageError:
        return None


def _name(data: Any) -> Any:
    return data.get("name") if isinstance(data, dict) else data


def _json(p: Path) -> dict[str, Any]:
    try:
        d = json.loads(p.read_text())
    except (OSError, ValueError):
        return {}
    return d if isinstance(d, dict) else {}


ROW_KEYS = re.compile(r"^(?:data|model|optimizer|epochs):.*$", re.M)


def _row_config(p: Path) -> dict[str, Any]:
    """The config keys a row shows: their top-level lines of `config.yaml`, parsed by YAML (a whole config
    takes ~3 ms to parse; a table of 1,000 runs would wait seconds for keys it does not show)."""
    try:
        d = yaml.load("\n".join(ROW_KEYS.findall(p.read_text())), Loader=_Loader)
    except (OSError, yaml.YAMLError):
        return {}
    return d if isinstance(d, dict) else {}


def _yaml(p: Path) -> dict[str, Any]:
    try:
        d = yaml.load(p.read_text(), Loader=_Loader)
    except (OSError, yaml.YAMLError):
        return {}
    return d if isinstance(d, dict) else {}
