"""A hyperparameter study (zenlearn tune): its three figures and its report sections.

Figures: the optimization history (each trial's metric and the best so far), each searched param
against the metric (pruned trials at their last reported value, hollow), and the params' importances.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from zenlearn.io.atomic import write_bytes
from zenlearn.io.rundir import STUDY, TUNE, read_csv, read_json
from zenlearn.report import plots
from zenlearn.report.html import Link, esc, fmt, img, kv_table, section, table

HISTORY, PARAMS, IMPORTANCES = "history.png", "params.png", "importances.png"


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and not math.isnan(v) else None


def history(rows: Sequence[dict[str, Any]], metric: str, maximize: bool) -> bytes:
    """Each finished trial's metric by trial number, and the best complete value so far."""
    plt = plots._plt()
    fig, ax = plt.subplots(figsize=(6.0, 3.4))
    for state, style in (("complete", {"color": "#4c72b0"}), ("pruned", {"facecolors": "none", "edgecolors": "#999"})):
        pts = [(r["trial"], _num(r[metric])) for r in rows if r["state"] == state and _num(r[metric]) is not None]
        if pts:
            ax.scatter(*zip(*pts), s=18, label=state, **style)
    best, line = None, []
    for r in sorted(rows, key=lambda r: r["trial"]):
        v = _num(r[metric]) if r["state"] == "complete" else None
        if v is not None and (best is None or (v > best if maximize else v < best)):
            best = v
        line.append((r["trial"], best))
    if any(b is not None for _, b in line):
        ax.step(*zip(*[(t, b) for t, b in line if b is not None]), where="post", color="#c44e52", label="best so far")
    ax.set(title="Optimization history", xlabel="trial", ylabel=metric)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return plots._png(fig)


def param_panels(rows: Sequence[dict[str, Any]], params: Sequence[str], metric: str, log: Sequence[str]) -> bytes:
    """One panel per searched param: its value against the metric (categorical params on a category axis)."""
    plt = plots._plt()
    fig, axes = plt.subplots(1, len(params), figsize=(3.2 * len(params), 3.0), squeeze=False)
    for ax, p in zip(axes.flat, params):
        for state, style in (("complete", {"color": "#4c72b0"}), ("pruned", {"facecolors": "none", "edgecolors": "#999"})):
            pts = [(r[p], _num(r[metric])) for r in rows if r["state"] == state and _num(r[metric]) is not None
                   and r.get(p) not in (None, "")]
            if pts:
                xs = [x if isinstance(x, (int, float)) else str(x) for x, _ in pts]
                ax.scatter(xs, [y for _, y in pts], s=16, **style)
        if p in log:
            ax.set_xscale("log")
        ax.set(xlabel=p, ylabel=metric)
        ax.grid(alpha=0.3)
    fig.suptitle(f"{metric} against each searched option (hollow: pruned)")
    return plots._png(fig)


def plot_study(out: Path, rows: Sequence[dict[str, Any]], params: Sequence[str], metric: str, direction: str,
               importances: dict[str, float], log: Sequence[str] = ()) -> dict[str, str]:
    """Write history.png, params.png and (when known) importances.png into `out`; returns {name: file}."""
    files = {}
    if any(_num(r[metric]) is not None for r in rows):
        write_bytes(out / HISTORY, history(rows, metric, direction == "maximize"))
        write_bytes(out / PARAMS, param_panels(rows, params, metric, log))
        files.update(history=HISTORY, params=PARAMS)
    if importances:
        names = list(importances)
        write_bytes(out / IMPORTANCES, plots.bars(names, [importances[n] for n in names], None,
                                                  "Param importances (fANOVA)", "importance"))
        files["importances"] = IMPORTANCES
    return files


def is_study(folder: Path) -> bool:
    return (folder / TUNE).is_file() and (folder / STUDY).is_file()


def study_sections(folder: Path, **_: Any) -> tuple[str, list[str]]:
    """Title and sections of a study folder (tune.json, study.csv, the figures)."""
    m, rows = read_json(folder / TUNE), read_csv(folder / STUDY)
    counts = m.get("trials") or {}
    best = m.get("best")
    lead = (f'<p class="lead">Study <b>{esc(m["study"])}</b>: <b>{len(rows)}</b> trials ('
            + ", ".join(f"{n} {s}" for s, n in counts.items() if n) + f"), {esc(m['sampler'])} sampler, "
            f"{esc(m['pruner'])} pruner, {esc(m['direction'])} <b>{esc(m['metric'])}</b> (validation split only).")
    if best:
        lead += (f" Best: trial <b>{best['trial']}</b> with {esc(m['metric'])} <b>{esc(fmt(best['value']))}</b> ("
                 + esc(" ".join(f"{k}={v}" for k, v in best["params"].items())) + ").")
    lead += f" {esc(m.get('epochs_trained', 0))} epochs trained in all.</p>"
    parts = [section("Study", lead, kv_table({"storage": m["storage"], "search space": m["space"],
                                              "watch it": m.get("dashboard", "")}))]
    if m.get("refit"):
        parts.append(section("Test (refit of the best config, read once)",
                             kv_table({"run": m["refit"]["run_dir"], **(m["refit"].get("test") or {})})))
    figs = [img((folder / f).read_bytes(), k) for k, f in (m.get("files") or {}).items()
            if f.endswith(".png") and (folder / f).is_file()]
    if figs:
        parts.append(section("Figures", f'<div class="figs">{"".join(figs)}</div>'))
    cols = [c for c in (rows[0] if rows else {}) if c not in ("run_dir", "host", "error")]
    body = []
    for r in rows:
        run = Path(str(r.get("run_dir") or ""))
        rel = run.relative_to(folder.resolve()) if run.is_absolute() and run.is_relative_to(folder.resolve()) else None
        body.append([r.get(c) for c in cols] + [Link(str(rel / "config.yaml"), str(rel)) if rel else r.get("run_dir")])
    parts.append(section("Trials", table(body, cols + ["run folder"])))
    return f"Study {m['study']}", parts
