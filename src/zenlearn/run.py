"""A training run end to end: config → data → model / optimizer → fit → run folder.

Run folder: `config.yaml` (fully resolved), `data.json` (dataset spec), `metrics.csv` (one row per
epoch), `checkpoint.pt` (resumable, every epoch), `model.safetensors` (final weights) and
`summary.json`, plus `report.html` (see report.py) and, with --tensorboard, `tb/`. Every file is written atomically.
"""

from __future__ import annotations

import contextlib
import json
import platform
import random
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from .atomic import clean_temp_files, write_text
from .augment import Augment
from .callbacks import Callback, CSVLogger, EarlyStopping, GradientNorms
from .checkpoint import load_weights, save_weights
from .config import TrainConfig, dump_yaml, load_yaml
from .data import BatchLoader, DataSpec, FolderSplits, Splits, load_splits
from .distributed import init_distributed
from .errors import UsageError
from .metrics import mean_baseline_mse
from .models import build_model, model_summary
from .optim import build_optimizer, resolve_lr
from .resume import (CHECKPOINT, RunCheckpoint, StopSignals, clear_run_files, deterministic_mode,
                     read_resume_state, restore)
from .schedules import build_schedule
from .train import LossFn, Trainer, resolve_device, set_threads

METRIC_COLUMNS = {"classification": ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds"],
                  "regression": ["epoch", "loss", "mae", "val_loss", "val_mae", "lr", "seconds"]}


def seed_everything(seed: int) -> None:
    """Seed torch, numpy and Python's `random`."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def default_out(cfg: TrainConfig) -> Path:
    return Path("runs") / f"{cfg.data.replace(':', '-').replace('/', '_')}-{cfg.model}-{time.strftime('%Y%m%d-%H%M%S')}"


def prepare_out(out: Path, overwrite: bool, create: bool = True) -> Path:
    """Create the run folder (with `create`, else only check); an existing non-empty one needs `overwrite`."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; choose a folder path")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise UsageError(f"--out {out} already holds files; pass --overwrite to replace them, --resume {out} to "
                         f"continue an interrupted run, or choose another --out")
    if not create:
        return out
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"--out {out}: cannot create the folder ({e.strerror}); choose a path you can "
                         f"write to") from None
    return out


EpochCheckpoint = RunCheckpoint  # the name this callback had before mid-epoch checkpoints


def open_splits(cfg: TrainConfig, device: torch.device | str = "cpu") -> Splits | FolderSplits:
    """The run's dataset split into train / val / test (image folders: file lists that stream)."""
    options = {}
    if cfg.data.partition(":")[0] == "folder":
        options = dict(image_size=cfg.image_size, color=cfg.color, class_mode=cfg.class_mode, workers=cfg.workers,
                       skip_bad_images=cfg.skip_bad_images, cache=cfg.cache)
    return load_splits(cfg.data, root=cfg.data_dir, val_split=cfg.val_split, seed=cfg.seed,
                       train_subset=cfg.train_subset, device=device, **options)


def reopen_splits(cfg: TrainConfig, spec: DataSpec, data_dir: str | None = None) -> Splits | FolderSplits:
    """A finished run's splits again (from `data_dir` if given; image folders at the trained size)."""
    if data_dir:
        cfg = cfg.replace(data_dir=data_dir)
    if cfg.data.startswith("folder:"):
        cfg = cfg.replace(image_size=list(spec.input_shape[1:]))
    return open_splits(cfg)


def eval_loader(splits: Splits | FolderSplits, data: Any, batch_size: int) -> Any:
    """An unshuffled loader over `data` (one split of `splits`)."""
    if isinstance(splits, FolderSplits):
        return splits.loader(data, batch_size)
    return BatchLoader(data, batch_size, scale=splits.spec.scale)


def make_loaders(cfg: TrainConfig, splits: Splits | FolderSplits, rank: int = 0,
                 world_size: int = 1) -> tuple[Any, Any, Any]:
    """Loaders of a run; with data parallelism each rank gets its shard and batch_size / world_size."""
    if isinstance(splits, FolderSplits):
        if world_size > 1:
            raise UsageError("image folders (--data folder:PATH) stream from one process; train them without "
                             "data parallelism (one process / GPU)")
        return (splits.loader(splits.train, cfg.batch_size, shuffle=True, seed=cfg.seed),
                splits.loader(splits.val, cfg.eval_batch_size) if splits.val is not None else None,
                splits.loader(splits.test, cfg.eval_batch_size))
    s = splits.spec.scale
    train = BatchLoader(splits.train, cfg.batch_size // world_size, scale=s, shuffle=True, seed=cfg.seed,
                        rank=rank, world_size=world_size)
    val = BatchLoader(splits.val, cfg.eval_batch_size, scale=s) if splits.val is not None else None
    test = BatchLoader(splits.test, cfg.eval_batch_size, scale=s)
    return train, val, test


def training_augment(cfg: TrainConfig, spec: DataSpec) -> Augment | None:
    """The `--augment` pipeline (seeded from the run seed), or None; only image data can be augmented."""
    if not cfg.augment or cfg.augment.strip().lower() in ("none", "off"):
        return None
    if spec.kind != "image" or len(spec.input_shape) != 3:
        raise UsageError(f"--augment works on images (C, H, W); dataset {spec.name!r} gives {spec.kind} samples "
                         f"of shape {spec.input_shape}; drop --augment")
    return Augment.from_spec(cfg.augment, seed=cfg.seed)


LossFactory = Callable[[nn.Module, BatchLoader, torch.device], LossFn]
"""(model, train loader, device) -> training loss_fn; trainable tensors from its `parameters()` join the optimizer."""


def train_run(cfg: TrainConfig, *, verbose: bool = True, splits: Splits | None = None,
              loss: LossFactory | None = None, evaluate_test: bool = True, resume: bool = False) -> dict[str, Any]:
    """Train `cfg` into its run folder and return the summary (also written to `summary.json`).

    Args:
        cfg: The run's configuration.
        verbose: Show progress. Defaults to True.
        splits: Already loaded data to use instead of loading `cfg.data`. Defaults to None.
        loss: Builds the training loss from the model (e.g. distillation). Defaults to the task loss.
        evaluate_test: Evaluate the test split at the end and write the report (which shows test errors);
            off while tuning on validation data, so that the test set is never read. Defaults to True.
        resume: Continue the interrupted run in `cfg.out` from its `checkpoint.pt` (see
            `resume.resume_config` for building `cfg`); the result is the same as an uninterrupted run.
            Defaults to False.

    Example:
        >>> summary = train_run(TrainConfig(data="mnist", model="mlp", epochs=1, out="runs/x"))  # doctest: +SKIP
        >>> summary["test"]["accuracy"] > 0.9  # doctest: +SKIP
        True
    """
    cfg.validate()
    device = resolve_device(cfg.device)
    if cfg.precision == "16" and device.type != "cuda":
        raise UsageError("--precision 16 (float16 with a grad scaler) needs a CUDA device; on CPU use "
                         "--precision bf16 or 32")
    if cfg.tensorboard:
        from .tblog import require_tensorboard

        require_tensorboard()
    dist = init_distributed(device, cfg.batch_size)  # torchrun: join the group; else one rank
    device, main = dist.device or device, dist.is_main
    verbose = verbose and main
    out = dist.on_main(lambda: prepare_out(Path(cfg.out) if cfg.out else default_out(cfg), cfg.overwrite or resume,
                                           create=False))  # checked only: bad input must not create it
    ckpt = read_resume_state(out, cfg) if resume else None
    cfg = cfg.replace(out=str(out), lr=resolve_lr(cfg))  # config.yaml records the LR actually used
    set_threads(cfg.threads)
    seed_everything(cfg.seed)
    if splits is None:
        splits = open_splits(cfg, device)
    model = build_model(cfg, splits.spec)
    if verbose:
        print(f"{cfg.model} on {cfg.data} ({len(splits.train)} train, {len(splits.val) if splits.val else 0} val, "
              f"{len(splits.test)} test) on {device}\n{model_summary(model)}", flush=True)
    model = dist.wrap(model)
    optimizer = build_optimizer(cfg, model)
    train, val, test = make_loaders(cfg, splits, dist.rank, dist.world_size)
    loss_fn = loss(model, train, device) if loss is not None else None
    extra = [p for p in getattr(loss_fn, "parameters", lambda: ())() if p.requires_grad]
    if extra:  # e.g. a hint regressor that trains with the model
        optimizer.add_param_group({"params": extra})
    signals = StopSignals() if main else None
    callbacks: list[Callback] = [CSVLogger(out / "metrics.csv", METRIC_COLUMNS[splits.spec.task])] if main else []
    tb = None
    if cfg.tensorboard and main:
        from .tblog import TensorBoard

        tb = TensorBoard(out / "tb", cfg.to_dict())
        callbacks.append(tb)
    if cfg.grad_norms:
        callbacks.append(GradientNorms(out / "grad_norms.csv"))
    if cfg.early_stopping:
        callbacks.append(EarlyStopping("val_loss" if val is not None else "loss", cfg.early_stopping))
    if main:
        callbacks.append(RunCheckpoint(out / CHECKPOINT, cfg, cfg.checkpoint_every, signals))  # last: sees the stop flag
    trainer = Trainer(model, optimizer, task=splits.spec.task, device=device, precision=cfg.precision,
                      callbacks=callbacks, scheduler=build_schedule(cfg, optimizer, len(train)),
                      scheduler_interval="step", clip_grad_norm=cfg.clip_grad, loss_fn=loss_fn,
                      augment=training_augment(cfg, splits.spec), label_smoothing=cfg.label_smoothing)
    if ckpt is not None:
        restore(trainer, ckpt, out / CHECKPOINT)
    if main:  # bad input (names, data, shapes, a mismatched checkpoint) was refused above: now write
        prepare_out(out, cfg.overwrite or resume)
        clean_temp_files(out)  # half-written files of a killed run
        if ckpt is None:
            clear_run_files(out)  # a fresh start: no stale checkpoint can be resumed with this config
        write_text(out / "config.yaml", dump_yaml(cfg))
        write_text(out / "data.json", json.dumps(asdict(splits.spec), indent=2))
    t0 = time.perf_counter()
    with signals or contextlib.nullcontext(), deterministic_mode(cfg.deterministic):
        history = trainer.fit(train, val, cfg.epochs, verbose=verbose)
    wall = time.perf_counter() - t0
    if main:
        save_weights(trainer.model, out / "model.safetensors")
    train_seconds = sum(e["train_seconds"] for e in history.epochs)
    summary = {
        "test": _strip(trainer.evaluate(test, batch_size=cfg.eval_batch_size)) if evaluate_test else None,
        "val": _strip(trainer.last_val_metrics() or trainer.evaluate(val, batch_size=cfg.eval_batch_size))
        if val is not None else None,
        "train_seconds": train_seconds,
        "wall_seconds": wall,
        "samples_per_second": len(history.epochs) * len(splits.train) / max(train_seconds, 1e-9),
        "params": sum(p.numel() for p in model.parameters()),
        "world_size": dist.world_size,
        "epochs": len(history.epochs),
        "data": {"name": cfg.data, "train": len(splits.train), "val": len(splits.val) if splits.val is not None else 0,
                 "test": len(splits.test), "task": splits.spec.task},
        "model": cfg.model,
        "device": str(device),
        "precision": cfg.precision,
        "seed": cfg.seed,
        "environment": environment(),
    }
    if splits.spec.task == "regression":  # test loss is the MSE; compare it with predicting the mean
        summary["mse"] = summary["test"]["mse"] = summary["test"]["loss"]
        summary["baseline_mse"] = mean_baseline_mse(splits.train.y, splits.test.y)
    if isinstance(splits, FolderSplits):
        summary["skipped_images"] = len(splits.skipped)
        summary["skipped_files"] = sorted(splits.skipped)
        if splits.skipped and verbose and main:
            print(f"skipped {len(splits.skipped)} unreadable image(s): {', '.join(sorted(splits.skipped))}",
                  file=sys.stderr)
    dist.close()
    if not main:
        return {**summary, "out": str(out), "rank": dist.rank}
    write_text(out / "summary.json", json.dumps(summary, indent=2))
    if tb is not None:
        tb.write_hparams({f"{split}_{k}": v for split in ("val", "test") for k, v in (summary[split] or {}).items()})
        tb.close()
    if cfg.report and evaluate_test:  # the report shows test-set errors: not while the test set is off limits
        from .report import write_report

        write_report(out, trainer=trainer, splits=splits)
    return {**summary, "out": str(out)}


def _strip(metrics: dict[str, float]) -> dict[str, float]:
    return {k.removeprefix("val_"): v for k, v in metrics.items()}


def environment() -> dict[str, Any]:
    from . import __version__

    return {"zenlearn": __version__, "torch": torch.__version__, "python": platform.python_version(),
            "platform": platform.platform(), "cpu_threads": torch.get_num_threads(),
            "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None}


# ---------------------------------------------------------------- reloading a run folder

def load_run(run_dir: str | Path, device: str = "cpu") -> tuple[TrainConfig, DataSpec, Trainer]:
    """Rebuild a finished run's config, dataset spec and a `Trainer` holding its trained model."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UsageError(f"RUN_DIR {run_dir} is not a folder; pass a run folder made by `zenlearn train`")
    for f in ("config.yaml", "data.json", "model.safetensors"):
        if not (run_dir / f).is_file():
            raise UsageError(f"{run_dir} has no {f}; is it a finished zenlearn run folder?")
    cfg = TrainConfig.from_dict(load_yaml(run_dir / "config.yaml"), source=str(run_dir / "config.yaml"))
    try:
        spec_d = json.loads((run_dir / "data.json").read_text())
        spec = DataSpec(**{**spec_d, "input_shape": tuple(spec_d["input_shape"])})
    except (ValueError, TypeError, KeyError) as e:
        raise UsageError(f"{run_dir / 'data.json'} is corrupt ({e}); retrain the run") from None
    model = build_model(cfg, spec)
    load_weights(model, run_dir / "model.safetensors")
    return cfg, spec, Trainer(model, task=spec.task, device=device)


def evaluate_run(run_dir: str | Path, split: str = "test", data_dir: str | None = None) -> dict[str, float]:
    """Reload a run and compute its metrics on the `test` or `val` split (the run's own split)."""
    if split not in ("test", "val"):
        raise UsageError(f"--split must be test or val, got {split!r}")
    cfg, spec, trainer = load_run(run_dir)
    splits = reopen_splits(cfg, spec, data_dir)
    data = splits.test if split == "test" else splits.val
    if data is None:
        raise UsageError(f"the run was trained with val_split 0, so it has no validation split")
    loader = eval_loader(splits, data, cfg.eval_batch_size)
    return _strip(trainer.evaluate(loader, batch_size=cfg.eval_batch_size))


