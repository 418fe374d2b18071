"""Figures of a reproduction (reproduce.json rows): final metric beside its anchor, curves, gradient norms,
LR grids. Each takes an experiment record (see `workflows.claims.describe_experiment`) and returns PNG
bytes, or None when there is nothing to draw.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

from zenlearn.report.plots.style import colors, figure, log_scale, png


def scale_of(exp: dict[str, Any]) -> tuple[float, str]:
    """Plot/table scale of the headline metric: accuracy in %, errors as counts, R² as it is."""
    return {"errors": (1.0, "test errors (of 10,000)"), "test_r2": (1.0, "test R²")}.get(
        exp["metric"], (100.0, "test accuracy (%)"))


def final_plot(exp: dict[str, Any]) -> bytes | None:
    """Per row: mean ± std (square), every seed (dots) and the published anchor (red diamond)."""
    rows = [r for r in exp["rows"] if r["values"].get(exp["metric"])]
    if not rows:
        return None
    k, label = scale_of(exp)
    fig = figure(7.0, 0.9 + 0.42 * len(rows))
    ax = fig.subplots()
    ys = list(range(len(rows)))[::-1]
    for y, r in zip(ys, rows):
        vals = [v * k for v in r["values"][exp["metric"]] if v is not None]
        mean = statistics.fmean(vals)
        std = statistics.stdev(vals) if len(vals) > 1 else 0.0
        ax.errorbar([mean], [y], xerr=[std], fmt="s", ms=7, capsize=4, color="tab:blue", zorder=3,
                    label=("mean ± std" if any("peer" in x for x in rows) else "zenlearn (mean ± std)")
                    if y == ys[0] else None)
        ax.scatter(vals, [y] * len(vals), s=12, color="black", alpha=0.6, zorder=4)
        ax.annotate(f"{mean:.1f}" if k == 100 else f"{mean:.0f}" if abs(mean) >= 10 else f"{mean:.3f}", (mean, y), xytext=(0, 7),
                    textcoords="offset points", ha="center", fontsize=7, color="tab:blue")
        a = r.get("anchor") or {}
        if a.get("value") is not None:
            ax.scatter([a["value"] * k], [y], marker="D", s=40, color="tab:red", zorder=5,
                       label="published" if not any(t.get_label() == "published" for t in ax.collections) else None)
    ax.set_yticks(ys, [r["label"] for r in rows], fontsize=8)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel(f"{label}; dots: seeds", fontsize=9)
    ax.set_title(exp["title"], fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    return png(fig)


def curves_plot(exp: dict[str, Any]) -> bytes | None:
    """Training loss (log) and validation accuracy by epoch, mean over seeds, one line per row with ≥ 2 epochs."""
    rows = [r for r in exp["rows"] if r["curves"] and min(len(c.get("loss", [])) for c in r["curves"]) >= 2]
    if not rows:
        return None
    cols = [c for c in ("loss", "val_accuracy") if any(c in cur for r in rows for cur in r["curves"])]
    fig = figure(5.0 * len(cols), 3.6 + 0.2 * math.ceil(len(rows) / 3))
    axes = fig.subplots(1, len(cols), squeeze=False)[0]
    for ax, col in zip(axes, cols):
        for r, color in zip(rows, colors(len(rows))):
            series = [c[col] for c in r["curves"] if c.get(col)]
            if not series:
                continue
            n = min(len(s) for s in series)
            mean = [statistics.fmean(s[e] for s in series) for e in range(n)]
            ax.plot(range(1, n + 1), [m * (100 if "accuracy" in col else 1) for m in mean], "-o", ms=3, color=color,
                    label=r["label"])
        if col == "loss":
            log_scale(ax, "y")
        ax.set_xlabel("epoch")
        ax.set_ylabel("training loss" if col == "loss" else "validation accuracy (%)")
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(3, len(labels)), fontsize=7)
    return png(fig)


def grad_norms_plot(exp: dict[str, Any]) -> bytes | None:
    """Per row: each layer's weight-gradient norm (log), at the first batch (solid) and in the last epoch (dashed)."""
    rows = [r for r in exp["rows"] if r.get("grad_norms")]
    if not rows:
        return None
    fig = figure(6.4, 4.0)
    ax = fig.subplots()
    for r, color in zip(rows, colors(len(rows))):
        for which, style, tag in ((0, "-o", "first batch"), (-1, "--", "last epoch")):
            per_seed = [g["norms"][which] for g in r["grad_norms"] if g["norms"]]
            n = min(len(p) for p in per_seed)
            mean = [statistics.fmean(p[i] for p in per_seed) for i in range(n)]
            ax.plot(range(1, n + 1), mean, style, ms=3, color=color, label=f"{r['label']} ({tag})",
                    alpha=1.0 if which == 0 else 0.6)
    log_scale(ax, "y")
    ax.set_xlabel("layer (1 = next to the input; last = output layer)")
    ax.set_ylabel("weight-gradient L2 norm")
    ax.set_title("Per-layer gradient norms, mean over seeds", fontsize=9)
    ax.grid(alpha=0.3)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(fontsize=6, ncols=2)
    return png(fig)


def lr_grid_plot(exp: dict[str, Any]) -> bytes | None:
    """Validation accuracy over the LR grid per optimizer (one seed), the chosen rate starred."""
    rows = [r for r in exp["rows"] if r.get("lr_grid")]
    if not rows:
        return None
    fig = figure(6.0, 3.8)
    ax = fig.subplots()
    for r, color in zip(rows, colors(len(rows))):
        pts = [(p["lr"], 100 * p["val_accuracy"]) for p in r["lr_grid"] if p.get("val_accuracy") is not None
               and not math.isnan(p["val_accuracy"])]
        if not pts:
            continue
        ax.plot(*zip(*pts), "-o", ms=3, color=color, label=r["label"])
        chosen = [p for p in pts if math.isclose(p[0], r["lr"])]
        if chosen:
            ax.scatter(*zip(*chosen), marker="*", s=120, color=color, zorder=4)
    log_scale(ax, "x")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("validation accuracy (%)")
    ax.set_title("Learning-rate grid on the validation split (★ chosen)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return png(fig)


PLOTS = {"final": final_plot, "curves": curves_plot, "grad-norms": grad_norms_plot, "lr-grid": lr_grid_plot}
"""Figure name → function; results.md shows each one that has something to draw."""
