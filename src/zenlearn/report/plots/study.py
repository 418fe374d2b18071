"""Figures of a hyperparameter study (zenlearn tune): the optimization history, and each searched param
against the metric (pruned trials at their last reported value, hollow)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from zenlearn.report.plots.style import figure, integer_ticks, log_scale, png


def finite_number(v: Any) -> float | None:
    """`v` as a float when it is a finite number (not a bool), else None."""
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and not math.isnan(v) else None


def history(rows: Sequence[dict[str, Any]], metric: str, maximize: bool) -> bytes:
    """Each finished trial's metric by trial number, and the best complete value so far."""
    fig = figure(6.0, 3.4)
    ax = fig.subplots()
    for state, style in (("complete", {"color": "#4c72b0"}), ("pruned", {"facecolors": "none", "edgecolors": "#999"})):
        pts = [(r["trial"], finite_number(r[metric])) for r in rows if r["state"] == state and finite_number(r[metric]) is not None]
        if pts:
            ax.scatter(*zip(*pts), s=18, label=state, **style)
    best, line = None, []
    for r in sorted(rows, key=lambda r: r["trial"]):
        v = finite_number(r[metric]) if r["state"] == "complete" else None
        if v is not None and (best is None or (v > best if maximize else v < best)):
            best = v
        line.append((r["trial"], best))
    if any(b is not None for _, b in line):
        ax.step(*zip(*[(t, b) for t, b in line if b is not None]), where="post", color="#c44e52", label="best so far")
    ax.set(title="Optimization history", xlabel="trial", ylabel=metric)
    integer_ticks(ax, "x")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return png(fig)


def param_panels(rows: Sequence[dict[str, Any]], params: Sequence[str], metric: str, log: Sequence[str]) -> bytes:
    """One panel per searched param: its value against the metric (categorical params on a category axis)."""
    fig = figure(3.2 * len(params), 3.0)
    axes = fig.subplots(1, len(params), squeeze=False)
    for ax, p in zip(axes.flat, params):
        for state, style in (("complete", {"color": "#4c72b0"}), ("pruned", {"facecolors": "none", "edgecolors": "#999"})):
            pts = [(r[p], finite_number(r[metric])) for r in rows if r["state"] == state and finite_number(r[metric]) is not None
                   and r.get(p) not in (None, "")]
            if pts:
                xs = [x if isinstance(x, (int, float)) else str(x) for x, _ in pts]
                ax.scatter(xs, [y for _, y in pts], s=16, **style)
        if p in log:
            log_scale(ax, "x")
        labels = [t.get_text() for t in ax.get_xticklabels()]
        if any(not isinstance(r.get(p), (int, float)) for r in rows) and (len(labels) > 3 or sum(map(len, labels)) > 18):
            ax.tick_params(axis="x", labelrotation=30)  # category names: tilted, so that none overlaps or is cut
            for t in ax.get_xticklabels():
                t.set_horizontalalignment("right")
        ax.set(xlabel=p, ylabel=metric)
        ax.grid(alpha=0.3)
    fig.suptitle(f"{metric} against each searched option (hollow: pruned)")
    return png(fig)
