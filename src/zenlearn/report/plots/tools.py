"""Figures that tools write as files: the LR range test's loss-vs-LR curve and the activation gallery."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from zenlearn.nn.activations import ACTIVATIONS, get_activation, value_and_derivative
from zenlearn.optim.lr_find import LRFindResult
from zenlearn.report.plots.style import figure, log_scale, save


def plot_lr_find(res: LRFindResult, path: str | Path) -> None:
    """Loss vs LR (log x): raw losses, the smoothed curve, the suggestion and the minimum marked."""
    fig = figure(7, 4.5)
    ax = fig.subplots()
    ax.plot(res.lrs, res.losses, color="0.7", lw=0.8, label="loss per batch")
    ax.plot(res.lrs, res.smoothed, color="tab:blue", lw=2, label="smoothed loss")
    ax.axvline(res.min_loss_lr, color="tab:gray", ls=":", label=f"minimum at {res.min_loss_lr:.2g}")
    ax.axvline(res.steepest_lr, color="tab:green", ls="--", lw=1, label=f"steepest descent at {res.steepest_lr:.2g}")
    ax.axvline(res.suggestion, color="tab:red", lw=1.5, label=f"suggested {res.suggestion:.2g} (= minimum / 10)")
    lo, first = min(res.smoothed + res.losses), max(res.smoothed[: max(1, len(res.smoothed) // 2)])
    ax.set_ylim(lo - 0.05 * (first - lo) - 1e-3, first + 0.3 * (first - lo) + 1e-3)  # the divergence tail is cut
    log_scale(ax, "x")
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("training loss")
    ax.set_title(f"LR range test: {len(res.lrs)} batches; {res.stopped}", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    save(fig, path)


def plot_activations(path: str | Path, names: list[str] | None = None, *, lo: float = -4.0, hi: float = 4.0,
                     **params: Any) -> Path:
    """Write a PNG with one panel per activation: the function and its derivative on [lo, hi].

    Args:
        path: Output PNG file (written atomically).
        names: Activations to draw. Defaults to every registered one.
        lo: Left end of the x range. Defaults to -4.
        hi: Right end of the x range. Defaults to 4.
        **params: Activation options (`negative_slope`, `elu_alpha`). Defaults to each one's default.

    Example:
        >>> plot_activations(tmp / "acts.png", ["relu", "elu"], elu_alpha=0.5).name
        'acts.png'
    """
    names = names or ACTIVATIONS.names()
    x = torch.linspace(lo, hi, 801)
    cols = min(4, len(names))
    rows = -(-len(names) // cols)
    fig = figure(3.2 * cols, 2.6 * rows)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat[len(names):]:
        ax.axis("off")
    for ax, name in zip(axes.flat, names):
        fn = get_activation(name, **params)
        y, dy = value_and_derivative(fn, x)
        ax.axhline(0, color="0.85", lw=0.8)
        ax.axvline(0, color="0.85", lw=0.8)
        ax.plot(x, y, label="f(x)", lw=1.8)
        ax.plot(x, dy, label="f'(x)", lw=1.4, ls="--")
        ax.set_title(repr(fn) if ACTIVATIONS.entry(name).info else name, fontsize=9)
        ax.set_xlim(lo, hi)
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=8, loc="upper left")
    return save(fig, path)
