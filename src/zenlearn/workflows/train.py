"""A training run end to end: config → data → model / optimizer → fit → run folder.

Run folder: `config.yaml` (fully resolved), `data.json` (dataset spec), `metrics.csv` (one row per
epoch), `checkpoint.pt` (resumable, every epoch), `model.safetensors` (final weights) and
`summary.json`, plus `report.html` (see report.py) and, with --tensorboard, `tb/`. Every file is written atomically.
"""

from __future__ import annotations

import contextlib
import os
import platform
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import torch
from torch import nn

from zenlearn.config import TrainConfig, dump_yaml
from zenlearn.data import BatchLoader, DataSplits, resolve_data
from zenlearn.data.preprocess import describe_columns
from zenlearn.errors import UsageError
from zenlearn.io.atomic import clean_temp_files, write_text
from zenlearn.io.checkpoint import save_weights
from zenlearn.io.live import RunLife
from zenlearn.io.rundir import REPORT, RunDir, write_json
from zenlearn.io.summary import RunSummary
from zenlearn.nn.build import model_summary
from zenlearn.nn.tasks import forecast_summary, get_task, mean_baseline_mse
from zenlearn.report.build import write_report
from zenlearn.training.build import (
    applicable_config,
    build_model,
    build_optimizer,
    build_schedule,
    check_config,
    class_weights,
    eval_loader,
    inapplicable_fields,
    load_run,
    make_loaders,
    monitor_problems,
    open_splits,
    reopen_splits,
    resolve_lr,
    seed_everything,
    training_augment,
)
from zenlearn.training.callbacks import Callback, CSVLogger, EarlyStopping, GradientNorms, KeepBest
from zenlearn.training.device import check_precision, resolve_device, set_threads
from zenlearn.training.distributed import init_distributed
from zenlearn.training.live import LiveEvents
from zenlearn.training.resume import (
    RunCheckpoint,
    StopSignals,
    deterministic_mode,
    finished_training,
    read_resume_state,
    restore,
)
from zenlearn.training.tensorboard import TensorBoard, require_tensorboard
from zenlearn.training.trainer import LossFn, Trainer
from zenlearn.version import __version__

__all__ = ["train_run", "evaluate_run", "load_run", "environment", "default_out"]


def default_out(cfg: TrainConfig) -> Path:
    """runs/<data>-<model>-<time>: where a run goes without --out."""
    return Path("runs") / f"{cfg.data.replace(':', '-').replace('/', '_')}-{cfg.model}-{time.strftime('%Y%m%d-%H%M%S')}"


LossFactory = Callable[[nn.Module, BatchLoader, torch.device], LossFn]
"""(model, train loader, device) -> training loss_fn; trainable tensors from its `parameters()` join the optimizer."""


class Stopwatch:
    """Seconds spent per named part of a run: `with watch("data"): …` adds that block's wall time to "data".

    Example:
        >>> watch = Stopwatch()
        >>> with watch("data"):
        ...     pass
        >>> list(watch.seconds)
        ['data']
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, part: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[part] = self.seconds.get(part, 0.0) + time.perf_counter() - t0


_IMPORTED = [False]  # the first run of a process reports the start-up time (Python, torch, zenlearn) as "import"


def _startup_seconds() -> float:
    """Seconds from this process's start to now, on the first call of the process; 0 afterwards."""
    if _IMPORTED[0]:
        return 0.0
    _IMPORTED[0] = True
    try:  # Linux: the process's start time in clock ticks after boot (field 22 of /proc/self/stat)
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        return max(0.0, float(Path("/proc/uptime").read_text().split()[0]) - ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return 0.0


def train_run(cfg: TrainConfig, *, verbose: bool = True, splits: DataSplits | None = None,
              loss: LossFactory | None = None, evaluate_test: bool = True, resume: bool = False,
              callbacks: Sequence[Callback] = (), title: str | None = None,
              state: dict[str, Any] | None = None) -> dict[str, Any]:
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
        callbacks: More callbacks (e.g. a search's `Pruning`), run before the checkpoint is written.
            Defaults to none.
        title: Printed in front of the run's header line ("scratch", "distilled"). Defaults to none.
        state: More fields that the run's `state.json` keeps in every state it writes (a search trial's
            `{"trial": {...}}`). Defaults to none.

    Example:
        >>> cfg = TrainConfig(data="mnist1d", model="logreg", epochs=1, report=False, out=str(tmp / "x"))
        >>> summary = train_run(cfg, verbose=False)
        >>> summary["epochs"], sorted(summary["test"])
        (1, ['accuracy', 'loss'])
    """
    if not cfg.out:
        cfg = cfg.replace(out=str(default_out(cfg)))
    with RunLife(RunDir(cfg.out), enabled=os.environ.get("RANK", "0") == "0", command="train",
                 **(state or {})) as life:
        return _train(cfg, life, verbose=verbose, splits=splits, loss=loss, evaluate_test=evaluate_test,
                      resume=resume, callbacks=callbacks, title=title)


def _train(cfg: TrainConfig, life: RunLife, *, verbose: bool, splits: DataSplits | None, loss: LossFactory | None,
           evaluate_test: bool, resume: bool, callbacks: Sequence[Callback], title: str | None) -> dict[str, Any]:
    """`train_run`'s body; `life.start()` once the run folder is created (see `RunLife`)."""
    watch = Stopwatch()
    watch.seconds["import"] = _startup_seconds()
    check_config(cfg)
    device = resolve_device(cfg.device)
    check_precision(cfg.precision, device)  # before any data is read
    if cfg.tensorboard:
        require_tensorboard()
    dist = init_distributed(device, cfg.batch_size)  # torchrun: join the group; else one rank
    device, main = dist.device or device, dist.is_main
    verbose = verbose and main
    rd = dist.on_main(lambda: RunDir(cfg.out).check(overwrite=cfg.overwrite or resume))
    out = rd.path  # checked only: bad input must not create it
    if resume and main and rd.summary.is_file() and final_files_missing(rd, cfg) and finished_training(out, cfg):
        life.start()
        return _complete(rd, watch, verbose)  # killed after summary.json, before the report: write what is missing
    ckpt = read_resume_state(out, cfg) if resume else None
    # config.yaml records the LR actually used, and a dataset folder's absolute path (the run does not depend
    # on the directory it was started from)
    # (and nothing that does not apply to it: those options go back to their defaults and out of config.yaml)
    cfg = applicable_config(cfg.replace(out=str(out), lr=resolve_lr(cfg), data=resolve_data(cfg.data),
                                        test_data=os.path.abspath(cfg.test_data) if cfg.test_data else None))
    set_threads(cfg.threads)
    seed_everything(cfg.seed)
    if splits is None:
        with watch("data"):
            splits = open_splits(cfg, device)
    with watch("build"):
        model = build_model(cfg, splits.spec)
        if verbose and getattr(splits, "preprocess", None) is not None:
            print(describe_columns(splits.preprocess), flush=True)
        if verbose:
            print(f"{title + ': ' if title else ''}{run_header(cfg, splits, device)}\n{model_summary(model)}", flush=True)
        model = dist.wrap(model)
        optimizer = build_optimizer(cfg, model)
        augment = training_augment(cfg, splits.spec)
        train, val, test = make_loaders(cfg, splits, dist.rank, dist.world_size, augmented=augment is not None)
        loss_fn = loss(model, train, device) if loss is not None else None
        extra = [p for p in getattr(loss_fn, "parameters", lambda: ())() if p.requires_grad]
        if extra:  # e.g. a hint regressor that trains with the model
            optimizer.add_param_group({"params": extra})
        signals = StopSignals() if main else None
        task = get_task(splits.spec.task)
        labels = splits.labels(splits.train)
        weights = class_weights(cfg.class_weight, splits.spec, labels)
        run_callbacks: list[Callback] = [CSVLogger(rd.metrics, task.columns)] if main else []
        tb = None
        if cfg.tensorboard and main:
            tb = TensorBoard(rd.tensorboard, cfg.to_dict())
            run_callbacks.append(tb)
        if cfg.grad_norms:
            run_callbacks.append(GradientNorms(rd.grad_norms))
        problems = monitor_problems(cfg, splits.spec.task, val is not None)
        if problems:
            raise UsageError("; ".join(problems))
        keeper = KeepBest(cfg.keep_best) if cfg.keep_best else None
        stopper = None
        if cfg.early_stopping:
            stopper = EarlyStopping("val_loss" if val is not None else "loss", cfg.early_stopping)
            run_callbacks.append(stopper)
        if keeper is not None:  # after the stopper: its weights are the ones kept
            run_callbacks.append(keeper)
        if main:
            run_callbacks.append(LiveEvents(rd.events, epochs=cfg.epochs, steps=len(train)))
        run_callbacks += list(callbacks)  # the caller's, before the checkpoint
        if main:
            run_callbacks.append(RunCheckpoint(rd.checkpoint, cfg, cfg.checkpoint_every, signals))  # last: sees the stop flag
        trainer = Trainer(model, optimizer, task=task, device=device, precision=cfg.precision,
                          callbacks=run_callbacks, scheduler=build_schedule(cfg, optimizer, len(train)),
                          scheduler_interval="step", clip_grad_norm=cfg.clip_grad, loss_fn=loss_fn,
                          augment=augment, label_smoothing=cfg.label_smoothing, class_weight=weights)
        if ckpt is not None:
            restore(trainer, ckpt, rd.checkpoint)
    if main:  # bad input (names, data, shapes, a mismatched checkpoint) was refused above: now write
        with watch("write"):
            rd.create(overwrite=cfg.overwrite or resume)
            clean_temp_files(out)  # half-written files of a killed run
            if ckpt is None:
                rd.clear_results()  # a fresh start: no stale checkpoint can be resumed with this config
            write_text(rd.config, dump_yaml(cfg, omit=inapplicable_fields(cfg)))
            write_json(rd.data, asdict(splits.spec))
            if getattr(splits, "preprocess", None) is not None:
                write_json(rd.preprocess, splits.preprocess.to_dict())
        life.start()
    t0 = time.perf_counter()
    with signals or contextlib.nullcontext(), deterministic_mode(cfg.deterministic):
        history = trainer.fit(train, val, cfg.epochs, verbose=verbose)
    if verbose and stopper is not None and stopper.message(cfg.epochs):
        print(stopper.message(cfg.epochs), flush=True)
    if verbose and keeper is not None and keeper.kept_epoch() is not None:
        print(keeper.message(), flush=True)
    wall = watch.seconds["fit"] = time.perf_counter() - t0
    if main:
        with watch("write"):
            save_weights(trainer.model, rd.weights)
    train_seconds = sum(e["train_seconds"] for e in history.epochs)
    with watch("evaluate"):  # the test outputs are kept for the report: it makes no second pass over the test set
        test_m, test_out, test_y = (trainer.evaluate(test, batch_size=cfg.eval_batch_size, return_outputs=True)
                                    if evaluate_test else (None, None, None))
        val_m = (trainer.last_val_metrics() or trainer.evaluate(val, batch_size=cfg.eval_batch_size)
                 if val is not None else None)
    summary = {
        "test": _strip(test_m) if test_m is not None else None,
        "val": _strip(val_m) if val_m is not None else None,
        "train_seconds": train_seconds,
        "wall_seconds": wall,
        "samples_per_second": len(history.epochs) * len(splits.train) / max(train_seconds, 1e-9),
        "params": sum(p.numel() for p in model.parameters()),
        "world_size": dist.world_size,
        "epochs": len(history.epochs),
        "epochs_requested": cfg.epochs,
        **(stopper.outcome() if stopper is not None else {"stopped_early": False, "best_epoch": None}),
        "kept_epoch": keeper.kept_epoch() if keeper is not None else None,
        "data": {"name": cfg.data, "train": len(splits.train), "val": len(splits.val) if splits.val is not None else 0,
                 "test": len(splits.test), "task": splits.spec.task, **splits.data_fields()},
        "model": cfg.model,
        "device": str(device),
        "precision": cfg.precision,
        "seed": cfg.seed,
        "environment": environment(),
    }
    if weights is not None:
        names = list(splits.spec.classes) or [str(i) for i in range(len(weights))]
        summary["class_weight"] = {c: round(float(w), 6) for c, w in zip(names, weights)}
    if not task.categorical:  # test loss is the MSE; compare it with predicting the mean
        summary["mse"] = summary["test"]["mse"] = summary["test"]["loss"]
        summary["baseline_mse"] = mean_baseline_mse(splits.train.y, splits.test.y)
    if splits.spec.forecast and summary["test"] is not None:  # the model beside the naive baselines
        summary["forecast"] = forecast_summary(splits.spec.forecast, summary["test"])
    summary.update(splits.summary_fields())
    if summary.get("skipped_files") and verbose and main:
        print(f"skipped {len(summary['skipped_files'])} unreadable image(s): {', '.join(summary['skipped_files'])}",
              file=sys.stderr)
    dist.close()
    if not main:
        return {**summary, "out": str(out), "rank": dist.rank}
    summary["timings"] = watch.seconds
    typed = RunSummary.from_dict(summary)
    with watch("write"):
        rd.write_summary(typed)
        if tb is not None:
            tb.write_hparams({f"{split}_{k}": v for split in ("val", "test") for k, v in (summary[split] or {}).items()})
            tb.close()
    if cfg.report and evaluate_test:  # the report shows test-set errors: not while the test set is off limits
        with watch("report"):
            write_report(out, trainer=trainer, splits=splits, outputs=(test_out, test_y))
        typed.timings = {**typed.timings, "report": watch.seconds["report"]}
        rd.write_summary(typed)  # now with the report's time
    return {**summary, "out": str(out)}


def run_header(cfg: TrainConfig, splits: DataSplits, device: Any) -> str:
    """`cnn on mnist (54,000 train, 6,000 val, 10,000 test) on cpu`, saying where a split is not what its name
    suggests: a --train-subset that leaves the validation split whole, a test split that is the validation split.

    Example:
        >>> from zenlearn.data import load_splits
        >>> cfg = TrainConfig(data="mnist1d", model="cnn", train_subset=500)
        >>> print(run_header(cfg, load_splits("mnist1d", train_subset=500), "cpu"))
        cnn on mnist1d (500 train by --train-subset, 400 val (the whole validation split), 1,000 test) on cpu
    """
    n_val = len(splits.val) if splits.val is not None else 0
    train = f"{len(splits.train):,} train" + (" by --train-subset" if cfg.train_subset is not None else "")
    val = f"{n_val:,} val" + (" (the whole validation split)" if cfg.train_subset is not None and n_val else "")
    test = f"{len(splits.test):,} test"
    if splits.test is splits.val and n_val:
        test += " (no test/ folder: the validation split, carved from the training images, is also the test split)"
    return f"{cfg.model} on {cfg.data} ({train}, {val}, {test}) on {device}"


def _complete(rd: RunDir, watch: Stopwatch, verbose: bool) -> dict[str, Any]:
    """Finish a run whose training is done but whose last files are missing (killed before its report)."""
    summary = rd.read_summary() or RunSummary()
    with watch("report"):
        write_report(rd.path)
    summary.timings = {**summary.timings, "report": watch.seconds["report"]}
    rd.write_summary(summary)
    if verbose:
        print(f"{rd.path}: training had finished; wrote the missing {REPORT}", flush=True)
    return {**summary.to_dict(), "out": str(rd.path)}


def final_files_missing(rd: RunDir, cfg: TrainConfig) -> bool:
    """Whether a run lacks a file it should end with: summary.json, or report.html when it asked for one."""
    return not rd.summary.is_file() or (cfg.report and not rd.report.is_file())


def _strip(metrics: dict[str, float]) -> dict[str, float]:
    return {k.removeprefix("val_"): v for k, v in metrics.items()}


def environment() -> dict[str, Any]:
    return {"zenlearn": __version__, "torch": torch.__version__, "python": platform.python_version(),
            "platform": platform.platform(), "cpu_threads": torch.get_num_threads(),
            "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None}


def evaluate_run(run_dir: str | Path, split: str = "test", data_dir: str | None = None,
                 data: str | None = None) -> dict[str, float]:
    """Reload a run and compute its metrics on the `test` or `val` split.

    Args:
        run_dir: A finished run folder.
        split: "test" or "val". Defaults to "test".
        data_dir: Data folder, if not the run's. Defaults to the run's.
        data: Another dataset or image folder (`--data` syntax) with the run's inputs and classes, prepared as
            the run's was; its `split` is evaluated. Defaults to the run's own dataset.

    Example:
        >>> sorted(evaluate_run(run_dir))
        ['accuracy', 'loss']
    """
    if split not in ("test", "val"):
        raise UsageError(f"--split must be test or val, got {split!r}")
    cfg, spec, trainer = load_run(run_dir)
    splits = reopen_splits(cfg, spec, data_dir, data=data, run_dir=run_dir)
    data = splits.test if split == "test" else splits.val
    if data is None:
        raise UsageError("the run was trained with val_split 0, so it has no validation split")
    loader = eval_loader(splits, data, cfg.eval_batch_size)
    return _strip(trainer.evaluate(loader, batch_size=cfg.eval_batch_size))


