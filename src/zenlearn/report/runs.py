"""`zenlearn runs`: the result folders under a directory with their key metrics, newest first."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from zenlearn.errors import UsageError
from zenlearn.io.rundir import COMPARE, CONFIG, REPORT, STATS, SUMMARY, RunDir, read_csv, read_json
from zenlearn.nn.tasks import first_metric
from zenlearn.report.build import REPORTS
from zenlearn.report.html import fmt


def list_runs(root: str | Path = "runs") -> list[dict[str, Any]]:
    """One dict per result folder under `root` (searched two levels deep), newest first.

    Keys: path, kind, time (last modification, seconds since the epoch), data, model, epochs, metric
    name and test value, test_loss, train_seconds, report (whether report.html exists).

    Args:
        root: Folder holding run folders (or a run folder itself). Defaults to "runs".

    Example:
        >>> [(r["kind"], r["model"], r["epochs"]) for r in list_runs(run_dir)]
        [('run', 'logreg', 2)]
    """

    root = Path(root)
    if not root.is_dir():
        raise UsageError(f"{root} is not a folder; pass the folder that holds your run folders (default: runs)")
    candidates = [root, *sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink())]
    candidates += [q for p in candidates[1:] for q in sorted(p.iterdir()) if q.is_dir() and not q.is_symlink()]
    found = []
    for folder in candidates:
        kind = next((e.name for e in REPORTS if e.obj.detect(folder)), None)
        if kind is not None:
            found.append(_describe(folder, kind))
    return sorted(found, key=lambda r: r["time"], reverse=True)


def _describe(folder: Path, kind: str) -> dict[str, Any]:
    files = [p for p in folder.iterdir() if p.is_file()]
    row: dict[str, Any] = {"path": str(folder), "kind": kind, "time": max((p.stat().st_mtime for p in files), default=0),
                           "data": None, "model": None, "epochs": None, "metric": None, "test": None,
                           "test_loss": None, "train_seconds": None, "report": (folder / REPORT).is_file()}
    if kind == "run":
        import yaml

        try:
            cfg = yaml.safe_load((folder / CONFIG).read_text()) or {}
        except (OSError, yaml.YAMLError):
            cfg = {}
        try:
            run = RunDir(folder).read_summary()
        except UsageError:  # a corrupt summary.json: listed without its figures
            run = None
        test = (run.test if run is not None else None) or {}
        metric = first_metric(test)
        row.update(data=cfg.get("data"), model=cfg.get("model"), epochs=run.epochs if run else None, metric=metric,
                   test=test.get(metric) if metric else None, test_loss=test.get("loss"),
                   train_seconds=run.train_seconds if run else None)
        if run is None:
            row["kind"] = "run (unfinished)"
        return row
    if kind == "distillation":  # the distilled student's figures, from the folder's summary of its three runs
        try:
            summary = read_json(folder / SUMMARY) if (folder / SUMMARY).is_file() else {}
        except UsageError:
            summary = {}
        summary = summary if isinstance(summary, dict) else {}
        d = summary.get("student_distilled") or {}
        test = d.get("test") or {}
        metric = first_metric(test)
        row.update(data=summary.get("data"), model=d.get("model"), epochs=d.get("epochs"), metric=metric,
                   test=test.get(metric) if metric else None, test_loss=test.get("loss"), train_seconds=d.get("train_seconds"))
    elif kind == "comparison" and (folder / COMPARE).is_file():  # the best variant's mean test figures

        try:
            base = json.loads((folder / COMPARE).read_text()).get("base_config") or {}
        except (OSError, ValueError):
            base = {}
        best = next((r for r in read_csv(folder / STATS) if str(r.get("best")).lower() == "true"), {})
        metric = (first_metric(best, ("test_",), "_mean") or "").removeprefix("test_") or None
        row.update(data=base.get("data"), model=base.get("model"), epochs=base.get("epochs"), metric=metric,
                   test=best.get(f"test_{metric}_mean") if metric else None, test_loss=best.get("test_loss_mean"))
    return row


def format_runs(rows: list[dict[str, Any]]) -> str:
    """A plain-text table of `list_runs` rows for the terminal."""
    import time

    header = ["modified", "kind", "data", "model", "epochs", "test metric", "test loss", "train s", "path"]
    lines = [header]
    for r in rows:
        metric = f"{r['metric']} {fmt(float(r['test']))}" if r["test"] is not None else "-"
        lines.append([time.strftime("%Y-%m-%d %H:%M", time.localtime(r["time"])), r["kind"], r["data"] or "-",
                      r["model"] or "-", str(r["epochs"] or "-"), metric,
                      fmt(float(r["test_loss"])) if r["test_loss"] is not None else "-",
                      f"{r['train_seconds']:.1f}" if r["train_seconds"] is not None else "-", r["path"]])
    widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in lines)
