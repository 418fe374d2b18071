"""The LR range test (Smith 2015; fastai's lr_find): train with an exponentially rising LR, watch the loss.

One batch per LR, from `start_lr` to `end_lr`; the loss is smoothed with a bias-corrected exponential
moving average and the sweep stops early once the smoothed loss exceeds 4x its minimum (divergence).
Suggested LR: the LR at the minimum of the smoothed loss divided by 10 (the loss is still falling
fast there, a safe distance from divergence). The steepest-descent LR is reported alongside. The
model's weights, the optimizer's state and the torch RNG are restored afterwards, so training can
start from where it was.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import torch

from .errors import UsageError

RULE = "LR at the minimum of the smoothed loss / 10"


@dataclass
class LRFindResult:
    """The sweep: LRs tried, raw and smoothed losses, the suggestion and the rule that chose it."""

    lrs: list[float]
    losses: list[float]
    smoothed: list[float]
    suggestion: float
    min_loss_lr: float
    steepest_lr: float
    rule: str
    stopped: str
    files: dict[str, str] = field(default_factory=dict)


def lr_find(trainer: Any, train: Iterable, *, start_lr: float = 1e-7, end_lr: float = 10.0, steps: int = 100,
            smooth: float = 0.9, diverge: float = 4.0) -> LRFindResult:
    """Sweep the LR exponentially over `steps` training batches and suggest one; the trainer is restored.

    Args:
        trainer: A `Trainer` with a model and an optimizer (its precision and clipping are used).
        train: Training batches: a `BatchLoader` (cycled through epochs if too short) or any iterable.
        start_lr: First LR. Defaults to 1e-7.
        end_lr: Last LR. Defaults to 10.
        steps: Batches (LR values) in the sweep. Defaults to 100.
        smooth: Weight of the loss moving average (0.9: about 10 batches). Defaults to 0.9.
        diverge: Stop when the smoothed loss exceeds this multiple of its minimum. Defaults to 4.

    Example:
        >>> model = torch.nn.Linear(4, 2)
        >>> t = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1), device="cpu")  # doctest: +SKIP
        >>> res = lr_find(t, loader, steps=50)  # doctest: +SKIP
        >>> res.suggestion, res.rule  # doctest: +SKIP
        (0.031, 'LR at the minimum of the smoothed loss / 10')
    """
    if not 0 < start_lr < end_lr:
        raise UsageError(f"lr-find: need 0 < --start-lr < --end-lr, got {start_lr:g} and {end_lr:g}")
    if steps < 5:
        raise UsageError(f"lr-find: --steps must be >= 5, got {steps}")
    model, opt = trainer.model, trainer.optimizer
    saved = (copy.deepcopy(model.state_dict()), copy.deepcopy(opt.state_dict()), torch.get_rng_state(),
             trainer.global_step, model.training, trainer.scheduler,
             copy.deepcopy(trainer.scaler.state_dict()) if trainer.scaler is not None else None)
    trainer.scheduler = None  # the sweep sets the LR itself
    mult = (end_lr / start_lr) ** (1 / (steps - 1))
    lrs: list[float] = []
    losses: list[float] = []
    smoothed: list[float] = []
    avg, best, stopped = 0.0, math.inf, f"reached --end-lr {end_lr:g}"
    model.train()
    try:
        for i, (x, y) in enumerate(_cycle(train, steps)):
            lr = start_lr * mult**i
            for g in opt.param_groups:
                g["lr"] = lr
            x, y = x.to(trainer.device), y.to(trainer.device)
            if trainer.augment is not None:
                x = trainer.augment(x)
            _, loss = trainer.train_step(x, y)
            value = float(loss.detach())
            if not math.isfinite(value):
                stopped = f"loss became NaN/Inf at lr {lr:.3g}"
                break
            avg = smooth * avg + (1 - smooth) * value
            s = avg / (1 - smooth ** (i + 1))  # bias correction: the average starts at 0
            lrs.append(lr)
            losses.append(value)
            smoothed.append(s)
            best = min(best, s)
            if s > diverge * best:
                stopped = f"smoothed loss passed {diverge:g}x its minimum at lr {lr:.3g}"
                break
    finally:
        model.load_state_dict(saved[0])
        opt.load_state_dict(saved[1])
        torch.set_rng_state(saved[2])
        trainer.global_step = saved[3]
        model.train(saved[4])
        trainer.scheduler = saved[5]
        if saved[6] is not None:
            trainer.scaler.load_state_dict(saved[6])
    if len(lrs) < 3:
        raise UsageError(f"lr-find: the sweep stopped after {len(lrs)} steps ({stopped}); lower --start-lr")
    k = min(range(len(smoothed)), key=smoothed.__getitem__)
    slopes = [(smoothed[j + 1] - smoothed[j - 1]) / math.log10(lrs[j + 1] / lrs[j - 1]) for j in range(1, k or 1)]
    steepest = lrs[1 + min(range(len(slopes)), key=slopes.__getitem__)] if slopes else lrs[k]
    return LRFindResult(lrs, losses, smoothed, lrs[k] / 10, lrs[k], steepest, RULE, stopped)


def _cycle(train: Iterable, steps: int) -> Iterable:
    """`steps` batches from `train`, starting new (reshuffled) epochs of a `BatchLoader` as needed."""
    n, epoch = 0, 0
    while n < steps:
        if hasattr(train, "set_epoch"):
            train.set_epoch(epoch)
        got = False
        for batch in train:
            got = True
            yield batch
            n += 1
            if n >= steps:
                return
        if not got:
            raise UsageError("lr-find: the training data gave no batches")
        epoch += 1


def plot_lr_find(res: LRFindResult, path: Path) -> None:
    """Loss vs LR (log x): raw losses, the smoothed curve, the suggestion and the minimum marked."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.5), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.plot(res.lrs, res.losses, color="0.7", lw=0.8, label="loss per batch")
    ax.plot(res.lrs, res.smoothed, color="tab:blue", lw=2, label="smoothed loss")
    ax.axvline(res.min_loss_lr, color="tab:gray", ls=":", label=f"minimum at {res.min_loss_lr:.2g}")
    ax.axvline(res.steepest_lr, color="tab:green", ls="--", lw=1, label=f"steepest descent at {res.steepest_lr:.2g}")
    ax.axvline(res.suggestion, color="tab:red", lw=1.5, label=f"suggested {res.suggestion:.2g} (= minimum / 10)")
    lo, first = min(res.smoothed + res.losses), max(res.smoothed[: max(1, len(res.smoothed) // 2)])
    ax.set_ylim(lo - 0.05 * (first - lo) - 1e-3, first + 0.3 * (first - lo) + 1e-3)  # the divergence tail is cut
    ax.set_xscale("log")
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("training loss")
    ax.set_title(f"LR range test: {len(res.lrs)} batches; {res.stopped}", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    from .atomic import write_bytes

    write_bytes(path, buf.getvalue())


def lr_find_run(cfg: Any, *, start_lr: float = 1e-7, end_lr: float = 10.0, steps: int = 100) -> LRFindResult:
    """`lr_find` on `cfg`'s data, model and optimizer; writes lr_find.csv, lr_find.png, lr_find.json to `cfg.out`.

    Example:
        >>> res = lr_find_run(TrainConfig(model="mlp", optimizer="momentum", out="runs/lrf"))  # doctest: +SKIP
    """
    from .atomic import write_text
    from .data import load_splits
    from .models import build_model
    from .optim import build_optimizer
    from .run import make_loaders, prepare_out, seed_everything
    from .train import Trainer, resolve_device

    cfg.validate()
    device = resolve_device(cfg.device)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = prepare_out(Path(cfg.out or f"runs/lr-find-{cfg.data.replace(':', '-')}-{cfg.model}-{stamp}"), cfg.overwrite)
    seed_everything(cfg.seed)
    splits = load_splits(cfg.data, root=cfg.data_dir, val_split=cfg.val_split, seed=cfg.seed,
                         train_subset=cfg.train_subset, device=device)
    model = build_model(cfg, splits.spec)
    trainer = Trainer(model, build_optimizer(cfg, model), task=splits.spec.task, device=device,
                      precision=cfg.precision, clip_grad_norm=cfg.clip_grad)
    train, _, _ = make_loaders(cfg, splits)
    res = lr_find(trainer, train, start_lr=start_lr, end_lr=end_lr, steps=steps)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["step", "lr", "loss", "smoothed_loss"])
    w.writerows([i, lr, l, s] for i, (lr, l, s) in enumerate(zip(res.lrs, res.losses, res.smoothed)))
    write_text(out / "lr_find.csv", buf.getvalue())
    plot_lr_find(res, out / "lr_find.png")
    res.files = {"csv": str(out / "lr_find.csv"), "plot": str(out / "lr_find.png"), "json": str(out / "lr_find.json")}
    write_text(out / "lr_find.json", json.dumps({
        "suggested_lr": res.suggestion, "rule": res.rule, "min_loss_lr": res.min_loss_lr,
        "steepest_lr": res.steepest_lr, "stopped": res.stopped, "steps": len(res.lrs), "start_lr": start_lr,
        "end_lr": end_lr, "optimizer": cfg.optimizer, "config": cfg.to_dict()}, indent=2))
    return res
