"""Optimizers by name (`OPTIMIZERS`), each a thin entry over a `torch.optim` class."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from .registry import Registry

if TYPE_CHECKING:
    from .config import TrainConfig

OPTIMIZERS: Registry[type[torch.optim.Optimizer]] = Registry("optimizer")
OPTIMIZERS.add("sgd", torch.optim.SGD, "plain stochastic gradient descent", defaults={})
OPTIMIZERS.add("adam", torch.optim.Adam, "Adam: momentum + per-parameter adaptive rates",
               defaults={"betas": (0.9, 0.999), "eps": 1e-8})


def build_optimizer(cfg: "TrainConfig", model: nn.Module) -> torch.optim.Optimizer:
    """The optimizer `cfg.optimizer` over `model`'s parameters at learning rate `cfg.lr`."""
    entry = OPTIMIZERS.entry(cfg.optimizer)
    kwargs: dict[str, Any] = dict(entry.meta.get("defaults", {}))
    params = [p for p in model.parameters() if p.requires_grad]
    if entry.obj is torch.optim.Adam and all(p.device.type in ("cpu", "cuda") for p in params):
        kwargs["foreach"] = True
    return entry.obj(params, lr=cfg.lr, **kwargs)
