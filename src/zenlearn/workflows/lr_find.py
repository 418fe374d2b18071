"""`zenlearn lr-find`: the LR range test (`optim.lr_find`) on a config's data, model and optimizer, with its
files (lr_find.csv, lr_find.png, lr_find.json) in the output folder."""

from __future__ import annotations

import json
import time

from zenlearn.config import TrainConfig
from zenlearn.data import load_splits
from zenlearn.io.atomic import write_text
from zenlearn.io.rundir import LR_FIND_CSV, LR_FIND_JSON, LR_FIND_PNG, RunDir, write_csv
from zenlearn.optim.lr_find import LRFindResult, lr_find
from zenlearn.report.plots.tools import plot_lr_find
from zenlearn.training.build import build_model, build_optimizer, check_config, make_loaders, seed_everything
from zenlearn.training.device import resolve_device
from zenlearn.training.trainer import Trainer


def lr_find_run(cfg: TrainConfig, *, start_lr: float = 1e-7, end_lr: float = 10.0, steps: int = 100) -> LRFindResult:
    """`lr_find` on `cfg`'s data, model and optimizer; writes lr_find.csv, lr_find.png, lr_find.json to `cfg.out`.

    Example:
        >>> cfg = TrainConfig(data="mnist1d", model="logreg", optimizer="momentum", out=str(tmp / "lrf"))
        >>> sorted(lr_find_run(cfg, steps=20).files)
        ['csv', 'json', 'plot']
    """
    check_config(cfg)
    device = resolve_device(cfg.device)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = RunDir(cfg.out or f"runs/lr-find-{cfg.data.replace(':', '-')}-{cfg.model}-{stamp}")
    out = out.create(overwrite=cfg.overwrite).path
    seed_everything(cfg.seed)
    splits = load_splits(cfg.data, root=cfg.data_dir, val_split=cfg.val_split, seed=cfg.seed,
                         train_subset=cfg.train_subset, device=device)
    model = build_model(cfg, splits.spec)
    trainer = Trainer(model, build_optimizer(cfg, model), task=splits.spec.task, device=device,
                      precision=cfg.precision, clip_grad_norm=cfg.clip_grad)
    train, _, _ = make_loaders(cfg, splits)
    res = lr_find(trainer, train, start_lr=start_lr, end_lr=end_lr, steps=steps)
    write_csv(out / LR_FIND_CSV, [{"step": i, "lr": lr, "loss": l, "smoothed_loss": s}
                                  for i, (lr, l, s) in enumerate(zip(res.lrs, res.losses, res.smoothed))],
              ["step", "lr", "loss", "smoothed_loss"])
    plot_lr_find(res, out / LR_FIND_PNG)
    res.files = {"csv": str(out / LR_FIND_CSV), "plot": str(out / LR_FIND_PNG), "json": str(out / LR_FIND_JSON)}
    write_text(out / LR_FIND_JSON, json.dumps({
        "suggested_lr": res.suggestion, "rule": res.rule, "min_loss_lr": res.min_loss_lr,
        "steepest_lr": res.steepest_lr, "stopped": res.stopped, "steps": len(res.lrs), "start_lr": start_lr,
        "end_lr": end_lr, "optimizer": cfg.optimizer, "config": cfg.to_dict()}, indent=2))
    return res
