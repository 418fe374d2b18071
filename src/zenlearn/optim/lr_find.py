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
import math
from dataclasses import dataclass, field
from typing import Any, Iterable

import torch

from zenlearn.errors import UsageError

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
        >>> from zenlearn.training.trainer import Trainer
        >>> model = torch.nn.Linear(4, 2)
        >>> t = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1), device="cpu")
        >>> batches = [(torch.randn(16, 4), torch.randint(0, 2, (16,))) for _ in range(4)]
        >>> res = lr_find(t, batches, steps=20)
        >>> res.rule, len(res.lrs) <= 20, res.lrs[0]
        ('LR at the minimum of the smoothed loss / 10', True, 1e-07)
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
