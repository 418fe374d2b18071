"""Figures of one run's report, as PNG bytes: curves, confusion matrix, sample grids, regression fits,
heat-maps, bands and bars. Every function takes plain numbers/arrays; nothing here touches a run folder.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from zenlearn.report.plots.style import figure, integer_ticks, log_scale, png, text_color


def curves(epochs: Sequence[float], series: dict[str, Sequence[float | None]], title: str, ylabel: str,
           *, log: bool = False) -> bytes:
    """Line plot of per-epoch `series` (name → values; None gaps allowed) against `epochs`.

    Example:
        >>> curves([1, 2], {"loss": [0.5, 0.3], "val_loss": [0.6, 0.4]}, "Loss", "loss")[:4]
        b'\\x89PNG'
    """
    fig = figure(5.2, 3.4)
    ax = fig.subplots()
    for name, values in series.items():
        pts = [(e, v) for e, v in zip(epochs, values) if v is not None and np.isfinite(v)]
        if pts:
            xs, ys = zip(*pts)
            ax.plot(xs, ys, marker="o", markersize=4, label=name)
    ax.set(title=title, xlabel="epoch", ylabel=ylabel)
    vals = [v for vs in series.values() for v in vs if v is not None]
    if log and vals and min(vals) > 0 and max(vals) / min(vals) > 10:  # log only when it spans a decade
        log_scale(ax, "y")
    if len(epochs) <= 20:
        ax.set_xticks(list(epochs))
    integer_ticks(ax, "x")
    ax.grid(alpha=0.3)
    ax.legend()
    return png(fig)


def confusion(cm: np.ndarray, classes: Sequence[str]) -> bytes:
    """Heat-map of a confusion matrix (rows: true class, columns: predicted), counts written in cells."""
    k = len(cm)
    side = min(max(4.0, 0.45 * k + 1.5), 12.0)
    fig = figure(side + 1, side)
    ax = fig.subplots()
    # Row-normalized colours so rare classes are as readable as common ones; cells show raw counts.
    norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    if k <= 30:
        ax.set_xticks(range(k), [str(c) for c in classes], rotation=45, ha="right")
        ax.set_yticks(range(k), [str(c) for c in classes])
        for i in range(k):
            for j in range(k):
                if cm[i, j]:
                    ax.text(j, i, str(int(cm[i, j])), ha="center", va="center", fontsize=7,
                            color=text_color(im.cmap(im.norm(norm[i, j]))))
    ax.set(xlabel="predicted class", ylabel="true class", title="Confusion matrix (test set)")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="fraction of the true class")
    return png(fig)


def _panels(n: int, cols: int, height: float) -> tuple[Any, list[Any]]:
    """A figure of `n` small panels, `cols` per row (`height` inches a row); returns it and the `n` axes in
    reading order, the grid's unused cells switched off."""
    cols = max(1, min(cols, n))
    rows = -(-n // cols)
    fig = figure(1.55 * cols, height * rows, layout="tight")
    axes = fig.subplots(rows, cols, squeeze=False)
    flat = list(axes.flat)
    for ax in flat[n:]:
        ax.axis("off")
    return fig, flat[:n]


def sample_grid(x: np.ndarray, titles: Sequence[str], kind: str, *, cols: int = 8) -> bytes:
    """A grid of samples with a caption each: images (N, C, H, W) or sequences (N, T, F) as line plots.

    Images are tiled into one mosaic drawn by a single `imshow` (one axes for the whole grid, not one per
    sample: several times faster), with each caption written above its tile.

    Example:
        >>> sample_grid(np.zeros((3, 1, 8, 8)), ["a", "b", "c"], "image")[:4]
        b'\\x89PNG'
    """
    if kind == "image" and x.ndim == 4:
        return _image_grid(x, titles, cols)
    fig, axes = _panels(len(x), cols, 1.4)
    for i, ax in enumerate(axes):
        s = x[i]
        seq = s.reshape(s.shape[0], -1) if s.ndim > 1 else s[:, None]  # (T, F)
        ax.plot(seq[:, : min(seq.shape[1], 4)], linewidth=0.8)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(titles[i], fontsize=7)
    return png(fig)


def _image_grid(x: np.ndarray, titles: Sequence[str], cols: int) -> bytes:
    n, c, h, w = x.shape
    cols = max(1, min(cols, n))
    rows = -(-n // cols)
    band, pad = max(6, round(0.3 * h)), max(1, h // 14)  # caption strip above each tile, gap between tiles
    cell_h, cell_w = band + h + pad, w + pad
    mosaic = np.ones((rows * cell_h, cols * cell_w, 3))  # (rows * cell_h, cols * cell_w, RGB), white
    tiles = np.clip(x[:, :3] if c >= 3 else np.repeat(x[:, :1], 3, axis=1), 0, 1).transpose(0, 2, 3, 1)  # (N, H, W, 3)
    for i, tile in enumerate(tiles):
        r, k = divmod(i, cols)
        mosaic[r * cell_h + band: r * cell_h + band + h, k * cell_w: k * cell_w + w] = tile
    fig = figure(1.55 * cols, 1.75 * rows, layout="none")
    ax = fig.add_axes((0, 0, 1, 1))
    ax.imshow(mosaic, interpolation="nearest")
    ax.axis("off")
    for i, title in enumerate(titles[:n]):
        r, k = divmod(i, cols)
        ax.text(k * cell_w + w / 2, r * cell_h + band / 2, title, ha="center", va="center", fontsize=7)
    return png(fig)


def pred_vs_target(target: np.ndarray, pred: np.ndarray, *, max_points: int = 5000, note: str = "") -> bytes:
    """Scatter of predicted against true values (flattened; an evenly spaced subset above `max_points`)
    with the y = x line that a perfect model would sit on; `note` (the test scores) goes under the title.

    Example:
        >>> pred_vs_target(np.arange(5.0), np.arange(5.0) + 0.1, note="MAE 0.1")[:4]
        b'\\x89PNG'
    """
    t, p = np.asarray(target, dtype=float).ravel(), np.asarray(pred, dtype=float).ravel()
    if len(t) > max_points:
        keep = np.linspace(0, len(t) - 1, max_points).astype(int)
        t, p = t[keep], p[keep]
    fig = figure(4.2, 4.0)
    ax = fig.subplots()
    ax.scatter(t, p, s=4, alpha=0.35, linewidths=0)
    lo, hi = float(min(t.min(), p.min())), float(max(t.max(), p.max()))
    ax.plot([lo, hi], [lo, hi], color="black", linewidth=0.8, label="y = x")
    ax.set_xlabel("true")
    ax.set_ylabel("predicted")
    ax.set_title("Predicted vs true (test set)" + (f"\n{note}" if note else ""), fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    return png(fig)


def sequence_fits(target: np.ndarray, pred: np.ndarray, titles: Sequence[str], *, cols: int = 8) -> bytes:
    """One panel per sample: target (solid) and prediction (dashed) over time steps, first feature.

    target, pred: (N, T) or (N, T, F) per-step regression outputs.
    """
    fig, axes = _panels(len(target), cols, 1.4)
    for i, ax in enumerate(axes):
        t = target[i].reshape(target[i].shape[0], -1)[:, 0]
        p = pred[i].reshape(pred[i].shape[0], -1)[:, 0]
        ax.plot(t, linewidth=1.0, label="target")
        ax.plot(p, linewidth=1.0, linestyle="--", label="predicted")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(titles[i], fontsize=7)
        if i == 0:
            ax.legend(fontsize=5, loc="best")
    return png(fig)


def heatmap(values: np.ndarray, rows: Sequence[Any], cols: Sequence[Any], title: str, xlabel: str,
            ylabel: str, cbar: str, *, mark: tuple[int, int] | None = None, cell: str = "{:.4f}") -> bytes:
    """Annotated heat-map of a 2-D table (e.g. accuracy over temperature × alpha).

    Args:
        values: (rows, cols) numbers; NaN cells stay blank.
        rows: Row labels.
        cols: Column labels.
        title: Figure title.
        xlabel: Column axis label.
        ylabel: Row axis label.
        cbar: Colour bar label.
        mark: (row, col) of a cell to outline in red (e.g. the chosen setting). Defaults to None.
        cell: Format of the number written in each cell. Defaults to "{:.4f}".
    """
    fig = figure(1.0 * len(cols) + 2.5, 0.6 * len(rows) + 1.8)
    ax = fig.subplots()
    im = ax.imshow(values, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(cols)), [str(c) for c in cols])
    ax.set_yticks(range(len(rows)), [str(r) for r in rows])
    for i in range(len(rows)):
        for j in range(len(cols)):
            if np.isfinite(values[i, j]):  # the text's colour from the cell's brightness
                ax.text(j, i, cell.format(values[i, j]), ha="center", va="center", fontsize=8,
                        color=text_color(im.cmap(im.norm(values[i, j]))))
    if mark is not None:
        from matplotlib.patches import Rectangle

        ax.add_patch(Rectangle((mark[1] - 0.5, mark[0] - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2.5))
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    fig.colorbar(im, ax=ax, label=cbar)
    return png(fig)


def bands(x: Sequence[float], groups: dict[str, np.ndarray], title: str, xlabel: str, ylabel: str) -> bytes:
    """Mean line with a min–max band per group; each array is (seeds, len(x))."""
    fig = figure(5.6, 3.6)
    ax = fig.subplots()
    for name, arr in groups.items():
        arr = np.asarray(arr, dtype=float)
        mean = np.nanmean(arr, 0)
        line, = ax.plot(x, mean, marker="o", markersize=3, label=f"{name} (n={arr.shape[0]})")
        if arr.shape[0] > 1:
            ax.fill_between(x, np.nanmin(arr, 0), np.nanmax(arr, 0), color=line.get_color(), alpha=0.2)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    if all(float(v).is_integer() for v in x):  # epochs
        integer_ticks(ax, "x")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return png(fig)


def bars(labels: Sequence[str], means: Sequence[float], errs: Sequence[float] | None, title: str,
         ylabel: str) -> bytes:
    """Bar chart with optional error bars (e.g. mean ± std over seeds per variant)."""
    fig = figure(max(4.0, 0.9 * len(labels) + 1.5), 3.4)
    ax = fig.subplots()
    ax.bar(range(len(labels)), means, yerr=errs, capsize=4, color="#4c72b0")
    tilt = len(labels) > 4 or sum(map(len, labels)) > 36  # long labels would overlap
    ax.set_xticks(range(len(labels)), labels, rotation=30 if tilt else 0, ha="right" if tilt else "center")
    lo = min(m - (e or 0) for m, e in zip(means, errs or [0] * len(means)))
    hi = max(m + (e or 0) for m, e in zip(means, errs or [0] * len(means)))
    pad = max((hi - lo) * 0.5, 1e-3)
    ax.set_ylim(max(lo - pad, 0) if lo >= 0 else lo - pad, hi + pad)
    ax.set(title=title, ylabel=ylabel)
    ax.grid(axis="y", alpha=0.3)
    return png(fig)
