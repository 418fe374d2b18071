"""Figures of a comparison folder: per-variant curves with a band over seeds, and the final metric per variant."""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Any

from zenlearn.io.rundir import FINAL_METRIC, VAL_CURVES, read_curves
from zenlearn.report.plots.style import colors as palette
from zenlearn.report.plots.style import figure, log_scale, save, short
from zenlearn.report.plots.style import label as axis_label


def plot_curves(path: Path, curves: dict[str, list[dict[str, list[float]]]], columns: list[str]) -> None:
    """One panel per column: per variant the mean over seeds by epoch, with a ± std band (error bars at one epoch)."""
    colors = palette(len(curves))
    fig = figure(5.2 * len(columns), 4.0 + 0.22 * math.ceil(len(curves) / 3))
    axes = fig.subplots(1, len(columns), squeeze=False)[0]
    longest = 1
    for ax, col in zip(axes, columns):
        for i, ((name, runs), color) in enumerate(zip(curves.items(), colors)):
            series = [r[col] for r in runs if r.get(col)]
            if not series:
                continue
            n = min(len(s) for s in series)  # early-stopped runs end sooner: plot the common epochs
            longest = max(longest, n)
            epochs = list(range(1, n + 1))
            if n == 1:  # single points: spread the variants sideways so their error bars do not overlap
                epochs = [1 + (i - (len(curves) - 1) / 2) * 0.3 / max(1, len(curves) - 1)]
            mean = [statistics.fmean(s[e] for s in series) for e in range(n)]
            std = [statistics.stdev([s[e] for s in series]) if len(series) > 1 else 0.0 for e in range(n)]
            label = f"{short(name)} (n={len(series)})"
            log = col.endswith("loss")  # losses of diverged runs are orders of magnitude apart
            low = [max(m - s, m * 0.05) if log else m - s for m, s in zip(mean, std)]
            if n == 1:
                ax.errorbar(epochs, mean, yerr=[[m - lo for m, lo in zip(mean, low)], std], fmt="o", capsize=5,
                            color=color, label=label)
            else:
                ax.plot(epochs, mean, "-o", ms=3, color=color, label=label)
                ax.fill_between(epochs, low, [m + s for m, s in zip(mean, std)], color=color, alpha=0.2, linewidth=0)
        if col.endswith("loss"):
            log_scale(ax, "y")
        ax.set_xlabel("epoch")
        ax.set_ylabel(axis_label(col))
        ax.set_title(f"{axis_label(col)} (mean ± std over seeds)", fontsize=10)
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    for ax in axes:
        if longest <= 20:
            ax.set_xticks(range(1, longest + 1))
        if longest == 1:
            ax.set_xlim(0.7, 1.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(3, max(1, len(labels))), fontsize=8)
    save(fig, path)


def plot_final(path: Path, rows: list[dict[str, Any]], variants: list[str], columns: list[str], best: str | None) -> None:
    """One panel per column: per variant the mean ± std (bar) and every seed (dots); the best in a bold colour."""
    fig = figure(4.6 * len(columns), 0.9 + 0.42 * len(variants))
    axes = fig.subplots(1, len(columns), squeeze=False, sharey=True)[0]
    ys = list(range(len(variants)))[::-1]  # first variant on top
    for ax, col in zip(axes, columns):
        lo, hi = math.inf, -math.inf
        for y, name in zip(ys, variants):
            vals = [float(r[col]) for r in rows if r["variant"] == name and isinstance(r.get(col), (int, float))]
            if not vals:
                ax.text(0.02, y, "failed", va="center", transform=ax.get_yaxis_transform(), color="tab:red")
                continue
            mean = statistics.fmean(vals)
            std = statistics.stdev(vals) if len(vals) > 1 else 0.0
            color = "tab:orange" if name == best else "tab:blue"
            ax.errorbar([mean], [y], xerr=[std], fmt="s", ms=7, capsize=4, color=color, zorder=3)
            ax.scatter(vals, [y] * len(vals), s=14, color="black", alpha=0.6, zorder=4)
            ax.annotate(f"{mean:.4g}", (mean, y), xytext=(0, 7), textcoords="offset points", ha="center",
                        fontsize=7, color=color)
            lo, hi = min(lo, mean - std, *vals), max(hi, mean + std, *vals)
        if math.isfinite(lo):
            pad = (hi - lo) * 0.15 or abs(hi) * 0.01 or 0.01
            ax.set_xlim(lo - pad, hi + pad)
        ax.set_yticks(ys, [short(v) for v in variants], fontsize=8)
        ax.set_ylim(-0.7, len(variants) - 0.3)
        ax.set_xlabel(f"{axis_label(col)}  (mean ± std; dots: seeds)", fontsize=9)
        ax.set_title(f"final {axis_label(col)}" + (" (best in orange)" if best else ""), fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    save(fig, path)


def plot_comparison(out: Path, rows: list[dict[str, Any]], variants: list[str], metric: str,
                    best: str | None = None) -> dict[str, str]:
    """Write val_curves.png and final_metric.png into `out`; returns {plot: file name}.

    Args:
        out: The comparison folder (each row's `run_dir` is relative to it).
        rows: results.csv rows (variant, status, run_dir, metric columns).
        variants: Variant names, in table order.
        metric: The column that ranks the variants.
        best: The best variant's name, drawn in orange. Defaults to None.
    """
    curves = {v: [read_curves(out / r["run_dir"]) for r in rows if r["variant"] == v and r["status"] != "failed"]
              for v in variants}
    base = metric.removeprefix("val_").removeprefix("test_")
    have = {c for runs in curves.values() for r in runs for c in r}
    columns = [c for c in (f"val_{base}", "val_loss") if c in have] or [c for c in (base, "loss") if c in have]
    files = {}
    if columns:
        plot_curves(out / VAL_CURVES, curves, columns)
        files["val_curves"] = VAL_CURVES
    finals = [metric] + [c for c in (f"test_{base}",) if c != metric and any(c in r for r in rows)]
    plot_final(out / FINAL_METRIC, rows, variants, finals, best)
    files["final_metric"] = FINAL_METRIC
    return files
