"""Surviving interruptions: the run checkpoint, stop signals, resumed configs, deterministic mode.

A run folder's `checkpoint.pt` holds everything the rest of the run depends on — model, optimizer,
scheduler, epoch and step, the running sums of an unfinished epoch, callback states and every RNG
state — so `zenlearn train --resume RUN_DIR` ends with the same weights, bit for bit on CPU, as a run
that was never interrupted. Batch order needs no saved state: `BatchLoader` derives each epoch's
permutation from (seed, epoch) and skips the batches already done.

SIGINT / SIGTERM do not kill a training run at a random point: they set a flag, and at the end of the
current batch (a consistent state) the checkpoint is written and the run exits with 128 + signal.
A second signal stops at once. SIGKILL cannot be caught: the run resumes from the last checkpoint,
written at every epoch end and every `--checkpoint-every N` steps.
"""

from __future__ import annotations

import os
import signal
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import torch

from zenlearn.config import TrainConfig, coerce, field_types, load_yaml
from zenlearn.errors import TrainingError, UsageError
from zenlearn.io.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from zenlearn.io.rundir import RunDir
from zenlearn.training.callbacks import Callback

RESUMABLE = ("epochs", "data_dir", "device", "eval_batch_size", "checkpoint_every", "deterministic", "overwrite",
             "out")
"""Options that `--resume` lets you change; every other option is the run's definition and stays as saved."""


class Interrupted(KeyboardInterrupt):
    """A stop signal ended training after a checkpoint was written; `exit_code` is 128 + the signal."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class StopSignals:
    """While active, SIGINT and SIGTERM set `signum` instead of stopping the process; a second one stops it.

    Only the main thread can install handlers; elsewhere this does nothing.

    Example:
        >>> with StopSignals() as stop:
        ...     stop.signum is None  # a SIGTERM now would set it to 15, and the loop would checkpoint and stop
        True
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}
        self._pid = os.getpid()

    def __enter__(self) -> "StopSignals":
        if threading.current_thread() is threading.main_thread():
            for s in self.SIGNALS:
                self._previous[s] = signal.signal(s, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame: Any) -> None:
        if os.getpid() != self._pid:  # a forked worker (e.g. image decoding) inherited us: just exit
            os._exit(128 + signum)
        if self.signum is not None:  # asked twice: stop now, without waiting for the batch to end
            raise KeyboardInterrupt
        self.signum = signum


class RunCheckpoint(Callback):
    """Write the run's resumable `checkpoint.pt` at every epoch end, every `every` steps, and on a stop signal.

    The running loss and the weights are checked first, so a checkpoint never holds NaN/Inf weights.

    Args:
        path: Checkpoint file, e.g. "runs/x/checkpoint.pt".
        cfg: The run's config, stored alongside for reference.
        every: Also write every this many optimizer steps. Defaults to None (epoch ends only).
        signals: A `StopSignals` to watch; when one arrived, write and raise `Interrupted`. Defaults to None.
    """

    def __init__(self, path: str | Path, cfg: TrainConfig, every: int | None = None,
                 signals: StopSignals | None = None) -> None:
        self.path, self.cfg, self.every, self.signals = Path(path), cfg, every, signals

    def save(self) -> None:
        self.trainer.check_finite()
        params = [p for p in self.trainer.model.parameters()]
        if params and not bool(torch.stack([torch.isfinite(p).all() for p in params]).all()):
            raise TrainingError(f"the weights became NaN/Inf in epoch {self.trainer.epoch + 1}; lower --lr or use "
                                f"--clip-grad (the last good checkpoint is kept)")
        save_checkpoint(self.path, {**self.trainer.state_dict(), "rng": rng_state(), "config": self.cfg.to_dict()})

    def on_batch_end(self, step: int, logs: dict[str, Any]) -> None:
        stop = self.signals is not None and self.signals.signum is not None
        if stop or (self.every and self.trainer.global_step % self.every == 0):
            self.save()
        if stop:
            self._interrupt(f"epoch {self.trainer.epoch + 1}, step {step + 1}")

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
        self.save()
        if self.signals is not None and self.signals.signum is not None:
            self._interrupt(f"the end of epoch {epoch + 1}")

    def _interrupt(self, where: str) -> None:
        signum = self.signals.signum  # type: ignore[union-attr]
        name = signal.Signals(signum).name
        raise Interrupted(f"interrupted by {name} at {where}; checkpoint saved — continue with "
                          f"`zenlearn train --resume {self.path.parent}`", 128 + signum)


# ---------------------------------------------------------------- resuming

def resume_config(run_dir: str | Path, given: dict[str, Any]) -> TrainConfig:
    """The config of the run in `run_dir`, with the options in `given` that a resume may change.

    Options that define the run (model, data, lr, seed, …) cannot change: a different value is a
    `UsageError` naming it. `out` is always `run_dir`, whatever the saved config says, so a config file
    cannot redirect where a resumed run writes.

    Args:
        run_dir: The run folder to continue.
        given: Options from the command line / `--config` (only those the user gave).

    Example:
        >>> resume_config(run_dir, {"epochs": 10}).epochs
        10
        >>> resume_config(run_dir, {"lr": 0.5})
        Traceback (most recent call last):
        zenlearn.errors.UsageError: --lr 0.5 differs from the run's 0.001; --resume continues the run as it was defined (it may change only epochs, data_dir, device, eval_batch_size, checkpoint_every, deterministic); drop --lr or start a new run with another --out
    """
    rd = RunDir(run_dir)
    run_dir = rd.path
    if not run_dir.is_dir():
        raise UsageError(f"--resume {run_dir}: not a folder; pass the run folder of an interrupted `zenlearn train`")
    if not rd.config.is_file():
        raise UsageError(f"--resume {run_dir}: no config.yaml, so not a zenlearn run folder; pass the folder "
                         f"that `zenlearn train --out` wrote")
    saved = TrainConfig.from_dict(load_yaml(rd.config), source=str(rd.config))
    types = field_types(TrainConfig)
    changes: dict[str, Any] = {}
    for key, value in given.items():
        value = coerce(key, types[key], value)
        if key == "out":
            if value is not None and Path(value).resolve() != run_dir.resolve():
                raise UsageError(f"--out {value} differs from --resume {run_dir}; a resumed run stays in its "
                                 f"folder, so drop --out")
            continue
        old = getattr(saved, key)
        if value == old:
            continue
        if key not in RESUMABLE:
            flag = "--" + key.replace("_", "-")
            raise UsageError(f"{flag} {_show(value)} differs from the run's {_show(old)}; --resume continues "
                             f"the run as it was defined (it may change only {', '.join(RESUMABLE[:6])}); "
                             f"drop {flag} or start a new run with another --out")
        changes[key] = value
    return saved.replace(**changes, out=str(run_dir)).validate()


def _show(v: Any) -> str:
    return ",".join(map(str, v)) if isinstance(v, tuple) else str(v)


def read_resume_state(run_dir: Path, cfg: TrainConfig) -> dict[str, Any] | None:
    """The checkpoint to continue from, or None when the run stopped before its first one (start afresh)."""
    rd = RunDir(run_dir)
    path = rd.checkpoint
    if not path.is_file():
        return None
    ckpt = load_checkpoint(path)
    missing = [k for k in ("model", "epoch", "global_step", "rng") if k not in ckpt]
    if missing:
        raise UsageError(f"{path}: not a zenlearn run checkpoint (no {', '.join(missing)}); restore it or "
                         f"start the run again with --overwrite")
    done, stopped = int(ckpt["epoch"]), bool(ckpt.get("stop_training"))
    if done > cfg.epochs or (done == cfg.epochs and int(ckpt.get("batch_in_epoch") or 0)):
        raise UsageError(f"--epochs {cfg.epochs} is fewer than the {done} epochs the run has done; pass "
                         f"--epochs {done} or more")
    if rd.summary.is_file() and stopped:
        raise UsageError(f"--resume {run_dir}: the run stopped early (early stopping); nothing to resume — "
                         f"start a new run with another --out")
    if rd.summary.is_file() and done == cfg.epochs:
        raise UsageError(f"--resume {run_dir}: the run finished all {done} epochs; nothing to resume — pass "
                         f"--epochs N (more than {done}) to train it longer")
    return ckpt


def finished_training(run_dir: Path, cfg: TrainConfig) -> bool:
    """Whether the run's last checkpoint is its end: all `cfg.epochs` done, or stopped early."""
    path = RunDir(run_dir).checkpoint
    if not path.is_file():
        return False
    ckpt = load_checkpoint(path)
    done = int(ckpt.get("epoch", 0))
    return bool(ckpt.get("stop_training")) or (done >= cfg.epochs and not int(ckpt.get("batch_in_epoch") or 0))


def restore(trainer: Any, ckpt: dict[str, Any], path: Path) -> None:
    """Load a checkpoint into a freshly built trainer and restore the RNG states (last, just before fit)."""
    try:
        trainer.load_state_dict(ckpt)
        set_rng_state(ckpt["rng"])
    except (KeyError, RuntimeError, ValueError, TypeError, IndexError) as e:
        first = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        raise UsageError(f"{path}: does not match this run's model/optimizer ({first}); restore the checkpoint "
                         f"or start the run again with --overwrite") from None


# ---------------------------------------------------------------- determinism

@contextmanager
def deterministic_mode(on: bool) -> Iterator[None]:
    """With `on`, use PyTorch's deterministic algorithms (and deterministic cuDNN) inside the block.

    An op with no deterministic implementation then fails with a `TrainingError` that names it.
    The previous settings are restored afterwards.
    """
    if not on:
        yield
        return
    cudnn = torch.backends.cudnn
    before = (torch.are_deterministic_algorithms_enabled(), cudnn.deterministic, cudnn.benchmark)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # cuBLAS needs it for repeatable GEMMs
    torch.use_deterministic_algorithms(True)
    cudnn.deterministic, cudnn.benchmark = True, False
    try:
        yield
    except RuntimeError as e:
        if "deterministic" not in str(e):
            raise
        raise TrainingError(f"--deterministic: {str(e).strip().splitlines()[0][:200]}; run without "
                            f"--deterministic (CPU runs are repeatable without it)") from None
    finally:
        torch.use_deterministic_algorithms(before[0])
        cudnn.deterministic, cudnn.benchmark = before[1], before[2]
