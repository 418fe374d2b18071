"""The `Trainer`: Keras-style fit / evaluate / predict for any `nn.Module`, with callbacks and a history."""

from __future__ import annotations

import contextlib
import itertools
import math
import time
from typing import Any, Callable, Iterable, Sequence

import torch
from torch import Tensor, nn

from zenlearn.data import ArrayData, BatchLoader
from zenlearn.errors import TrainingError
from zenlearn.nn.tasks import Task, get_task
from zenlearn.training.callbacks import Callback, ProgressBar
from zenlearn.training.device import check_precision, keep_freed_memory, prefers_channels_last, resolve_device
from zenlearn.training.distributed import all_reduce_sum

LossFn = Callable[[Tensor, Tensor, Tensor], Tensor]
"""loss_fn(outputs, targets, inputs) -> scalar loss (inputs let distillation run a teacher)."""

NAN_CHECK_EVERY = 50  # steps between (cheap) finiteness checks of the running loss


class History:
    """Per-epoch logs; `history.history["val_loss"]` is a list, as in Keras."""

    def __init__(self, epochs: list[dict[str, Any]] | None = None) -> None:
        self.epochs: list[dict[str, Any]] = list(epochs or [])

    @property
    def history(self) -> dict[str, list[Any]]:
        keys: list[str] = []
        for e in self.epochs:
            keys += [k for k in e if k not in keys]
        return {k: [e.get(k) for e in self.epochs] for k in keys}


class Trainer:
    """Trains, evaluates and predicts with a plain `nn.Module`.

    Args:
        model: Any module mapping a float batch to outputs (logits for classification).
        optimizer: Optimizer over the model's parameters; needed by `fit` only. Defaults to None.
        task: A `Task` or its name: "classification" (cross-entropy, accuracy) or "regression" (MSE, MAE).
            Defaults to "classification".
        device: Torch device or "auto". Defaults to "auto".
        precision: "32", "bf16" (autocast) or "16" (autocast + grad scaler, CUDA only). Defaults to "32".
        callbacks: `Callback`s to run. Defaults to none.
        scheduler: LR scheduler; stepped per batch if `scheduler_interval == "step"`, else per epoch
            (a `ReduceLROnPlateau` gets `val_loss`). Defaults to None.
        scheduler_interval: "step" or "epoch". Defaults to "epoch". A scheduler with an `epoch_end(logs)`
            method (`zenlearn.optim.schedules.LRSchedule`) also gets each epoch's logs.
        loss_fn: `loss_fn(outputs, targets, inputs)`; replaces the task loss during training (e.g.
            distillation). Defaults to the task loss.
        augment: Batch transform applied to training inputs only, on the device. Defaults to None.
        clip_grad_norm: Clip the global gradient norm to this value. Defaults to None (off).
        label_smoothing: Cross-entropy label smoothing. Defaults to 0.
        class_weight: Weight of each class in the training loss, (K,) (`--class-weight`); evaluation stays
            unweighted. Defaults to None (every class 1).
        channels_last: Keep 2-D conv models and their image batches channels-last (oneDNN's fast layout on
            CPU). Defaults to None: on for CPU models with a `Conv2d`.

    Example:
        >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
        >>> trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1), device="cpu")
        >>> hist = trainer.fit((torch.randn(32, 4), torch.randint(0, 3, (32,))), epochs=2, batch_size=8,
        ...                    verbose=False)
        >>> sorted(hist.history)
        ['accuracy', 'loss', 'lr', 'seconds', 'train_seconds']
    """

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer | None = None, *,
                 task: str | Task = "classification", device: str | torch.device = "auto", precision: str = "32",
                 callbacks: Sequence[Callback] = (), scheduler: Any = None, scheduler_interval: str = "epoch",
                 loss_fn: LossFn | None = None, augment: Callable[[Tensor], Tensor] | None = None,
                 clip_grad_norm: float | None = None, label_smoothing: float = 0.0, class_weight: Tensor | None = None,
                 channels_last: bool | None = None) -> None:
        self.device = resolve_device(device)
        if channels_last is None:
            channels_last = prefers_channels_last(model, self.device)
        self.channels_last = channels_last
        self.model = model.to(self.device, memory_format=torch.channels_last) if channels_last else model.to(self.device)
        self.optimizer, self.task = optimizer, get_task(task)
        self.precision = precision
        self.callbacks = list(callbacks)
        self.scheduler, self.scheduler_interval = scheduler, scheduler_interval
        self.loss_fn, self.augment = loss_fn, augment
        self.clip_grad_norm, self.label_smoothing = clip_grad_norm, label_smoothing
        self.class_weight = class_weight.to(self.device, torch.float32) if class_weight is not None else None
        self.history = History()
        self.epoch = 0          # epochs completed
        self.global_step = 0    # optimizer steps taken
        self.batch_in_epoch = 0  # batches of the current epoch done (0 between epochs)
        self._val_seen: tuple[tuple[int, ...], dict[str, float]] | None = None  # (weights' versions, val metrics)
        self.stop_training = False
        self._epoch_stats: Tensor | None = None  # running (loss, *task sums, count) of the current epoch
        self._epoch_logs: dict[str, Any] = {}
        self._restored: dict[str, Any] | None = None  # callback states and stop flag, applied by `fit`
        check_precision(precision, self.device)
        # One code path for every precision: a disabled scaler passes the loss and the step straight through.
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=precision == "16")

    # ------------------------------------------------------------------ helpers
    def autocast(self) -> contextlib.AbstractContextManager:
        if self.precision == "32":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if self.precision == "bf16" else torch.float16
        return torch.autocast(self.device.type, dtype=dtype)

    def _loader(self, data: Any, batch_size: int, shuffle: bool, seed: int = 0) -> Iterable:
        if isinstance(data, tuple) and len(data) == 2 and all(isinstance(t, Tensor) for t in data):
            arrays = ArrayData(data[0].to(self.device), data[1].to(self.device))
            return BatchLoader(arrays, batch_size, shuffle=shuffle, seed=seed)
        return data

    def _prepare(self, x: Tensor) -> Tensor:
        """Batch on the device, channels-last for image batches of a channels-last model."""
        x = x.to(self.device, non_blocking=True)
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last and x.dim() == 4 else x

    def _compute_loss(self, outputs: Tensor, y: Tensor, x: Tensor) -> Tensor:
        if self.loss_fn is not None:
            return self.loss_fn(outputs, y, x)
        return self.task.loss(outputs, y, self.label_smoothing, self.class_weight)

    def _emit(self, hook: str, *args: Any) -> None:
        for cb in self.callbacks:
            getattr(cb, hook)(*args)

    # ------------------------------------------------------------------ training
    def train_step(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """One optimizer step on a batch; returns (outputs, loss) without syncing to the host."""
        assert self.optimizer is not None, "Trainer.fit needs an optimizer"
        x = self._prepare(x)
        with self.autocast():
            outputs = self.model(x)
            loss = self._compute_loss(outputs.float() if outputs.dtype != torch.float32 else outputs, y, x)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if self.clip_grad_norm:
            self.scaler.unscale_(self.optimizer)  # clip the true gradients, not the loss-scaled ones
            nn.utils.clip_grad_norm_(self.model.parameters(), self.clip_grad_norm)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        if self.scheduler is not None and self.scheduler_interval == "step":
            self.scheduler.step()
        self.global_step += 1
        return outputs, loss

    def fit(self, train: Any, val: Any = None, epochs: int = 1, *, batch_size: int = 32, seed: int = 0,
            verbose: bool = True, skip_batches: int | None = None) -> History:
        """Train for `epochs` (continuing from `self.epoch`) and return the `History`.

        Args:
            train: A `BatchLoader` (or any iterable of (x, y) batches) or an (x, y) tuple of tensors.
            val: Validation data in the same forms. Defaults to None.
            epochs: Total epochs; training resumes at `self.epoch`. Defaults to 1.
            batch_size: Batch size when tensors are given. Defaults to 32.
            seed: Shuffle seed when tensors are given. Defaults to 0.
            verbose: Add a progress bar / one line per epoch. Defaults to True.
            skip_batches: Batches of the first epoch already done (mid-epoch resume). Defaults to
                `self.batch_in_epoch` (0, or what `load_state_dict` restored).
        """
        keep_freed_memory()  # reuse the activation buffers step after step (see training.device)
        train = self._loader(train, batch_size, shuffle=True, seed=seed)
        val = self._loader(val, batch_size, shuffle=False) if val is not None else None
        if verbose and not any(isinstance(cb, ProgressBar) for cb in self.callbacks):
            # first: an epoch's line is printed before a later callback can stop the run (Ctrl-C at an epoch's end)
            self.callbacks.insert(0, ProgressBar(epochs, len(train)))  # type: ignore[arg-type]
        for cb in self.callbacks:
            cb.trainer = self
        self.stop_training = False
        logs: dict[str, Any] = {}
        self._emit("on_train_begin", logs)
        self._apply_restored()
        if skip_batches is None:
            skip_batches = self.batch_in_epoch
        try:
            while self.epoch < epochs and not self.stop_training:
                logs = self._run_epoch(train, val, skip_batches)
                skip_batches = 0
        finally:
            self._emit("on_train_end", logs)
        return self.history

    def _run_epoch(self, train: Any, val: Any, skip_batches: int) -> dict[str, Any]:
        epoch = self.epoch
        if skip_batches > 0 and self._epoch_stats is not None:
            # mid-epoch resume: carry on with the interrupted epoch's running sums and logs
            logs, stats = dict(self._epoch_logs), self._epoch_stats.to(self.device)
        else:
            logs = {"lr": self.optimizer.param_groups[0]["lr"]}  # type: ignore[union-attr]
            stats = self.task.zero_stats(self.device)
        self._epoch_logs, self._epoch_stats = logs, stats
        self._emit("on_epoch_begin", epoch, logs)
        if hasattr(train, "set_epoch"):
            train.set_epoch(epoch, skip_batches)
        self.model.train()
        t0 = time.perf_counter()
        for step, (x, y) in enumerate(train, start=skip_batches):
            x, y = x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)
            if self.augment is not None:
                x = self.augment(x)
            outputs, loss = self.train_step(x, y)
            stats += self.task.batch_stats(outputs.detach().float(), y, loss)
            self.batch_in_epoch = step + 1
            if (step + 1) % NAN_CHECK_EVERY == 0:
                self._check_finite(stats[0], epoch, step)
            self._emit("on_batch_end", step, logs)
            if self.stop_training:
                break
        stats = all_reduce_sum(stats)  # data parallel: sums over every rank's shard (identity in one process)
        self._check_finite(stats[0], epoch, None)
        train_seconds = time.perf_counter() - t0
        logs.update(self.task.finish_stats(stats))
        if val is not None:
            val_logs = self.evaluate(val, prefix="val_")
            logs.update(val_logs)
            self._val_seen = (self._weights_version(), val_logs)
        logs["seconds"] = time.perf_counter() - t0
        logs["train_seconds"] = train_seconds
        if self.scheduler is not None and self.scheduler_interval == "epoch":
            if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                self.scheduler.step(logs.get("val_loss", logs["loss"]))
            else:
                self.scheduler.step()
        if hasattr(self.scheduler, "epoch_end"):  # per-batch schedules that also watch the epoch's metrics
            self.scheduler.epoch_end(logs)
        self.epoch += 1
        self.batch_in_epoch, self._epoch_stats, self._epoch_logs = 0, None, {}
        self.history.epochs.append(dict(logs))
        self._emit("on_epoch_end", epoch, logs)
        return logs

    def running_stats(self) -> Tensor | None:
        """The unfinished epoch's running sums so far (loss, the task's sums, count), a copy; None between epochs."""
        return self._epoch_stats.clone() if self._epoch_stats is not None else None

    def running_metrics(self) -> dict[str, float]:
        """The unfinished epoch's training metrics so far ({} between epochs)."""
        return self.task.finish_stats(s) if (s := self.running_stats()) is not None else {}

    def _weights_version(self) -> tuple[int, ...]:
        """Version counters of every parameter and buffer: each in-place write (an optimizer step, a batch-norm
        statistics update, `load_state_dict`, a best-weights restore) increments one."""
        return tuple(t._version for t in itertools.chain(self.model.parameters(), self.model.buffers()))

    def last_val_metrics(self) -> dict[str, float] | None:
        """The last epoch's validation metrics ("val_" names) if the weights have not changed since, else None:
        lets a caller report the final validation score without evaluating the same weights twice."""
        if self._val_seen is None or self._val_seen[0] != self._weights_version():
            return None
        return dict(self._val_seen[1])

    def check_finite(self) -> None:
        """Raise `TrainingError` if the current epoch's running loss is NaN/Inf (syncs with the device)."""
        if self._epoch_stats is not None:
            self._check_finite(self._epoch_stats[0], self.epoch, self.batch_in_epoch - 1)

    def _check_finite(self, loss_sum: Tensor, epoch: int, step: int | None) -> None:
        if not math.isfinite(float(loss_sum)):
            where = f"epoch {epoch + 1}" + (f", by step {step + 1}" if step is not None else "")
            raise TrainingError(f"loss became NaN/Inf in {where}; lower --lr, check the data for NaNs, "
                                f"or use --clip-grad (the last good checkpoint is kept)")

    # ------------------------------------------------------------------ inference
    @torch.inference_mode()
    def evaluate(self, data: Any, *, batch_size: int = 1000, prefix: str = "",
                 return_outputs: bool = False) -> Any:
        """Mean loss and the task's metrics over `data` (a loader or an (x, y) tuple), in eval mode.

        With `return_outputs`, also the model's outputs and the targets, on the CPU, in the data's order:
        `(metrics, outputs, targets)`, so a caller (the run report) needs no second pass over the data.

        Example:
            >>> t = Trainer(nn.Linear(4, 3), device="cpu")
            >>> metrics, out, y = t.evaluate((torch.randn(10, 4), torch.zeros(10, dtype=torch.long)),
            ...                              return_outputs=True)
            >>> sorted(metrics), tuple(out.shape)
            (['accuracy', 'loss'], (10, 3))
        """
        loader = self._loader(data, batch_size, shuffle=False)
        was = self.model.training
        self.model.eval()
        stats = self.task.zero_stats(self.device)
        outs, ys = [], []
        for x, y in loader:
            x, y = self._prepare(x), y.to(self.device, non_blocking=True)
            with self.autocast():
                outputs = self.model(x).float()
            stats += self.task.batch_stats(outputs, y, self.task.loss(outputs, y))
            if return_outputs:
                outs.append(outputs.cpu())
                ys.append(y.cpu())
        self.model.train(was)
        metrics = self.task.finish_stats(stats, prefix)
        if not return_outputs:
            return metrics
        return metrics, (torch.cat(outs) if outs else torch.empty(0)), (torch.cat(ys) if ys else torch.empty(0))

    @torch.inference_mode()
    def predict(self, x: Tensor, *, batch_size: int = 1000, probabilities: bool = True) -> Tensor:
        """Outputs for a float batch `x` (N, …); softmax probabilities for classifiers by default."""
        was = self.model.training
        self.model.eval()
        outs = []
        for i in range(0, len(x), batch_size):
            with self.autocast():
                out = self.model(self._prepare(x[i : i + batch_size])).float()
            outs.append(self.task.predictions(out, probabilities))
        self.model.train(was)
        return torch.cat(outs) if outs else torch.empty(0)

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """Model, optimizer, scheduler, scaler, epoch, step, history, the running sums of an unfinished
        epoch, the augmentation's generator, a stateful loss (e.g. a hint regressor) and stateful
        callbacks, as one plain dict."""
        mid = self.batch_in_epoch > 0 and self._epoch_stats is not None
        return {
            "model": getattr(self.model, "module", self.model).state_dict(),
            "optimizer": self.optimizer.state_dict() if self.optimizer is not None else None,
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else None,
            "epoch": self.epoch, "global_step": self.global_step, "history": self.history.epochs,
            "batch_in_epoch": self.batch_in_epoch if mid else 0,
            "epoch_stats": self._epoch_stats.detach().cpu().clone() if mid else None,  # type: ignore[union-attr]
            "epoch_logs": dict(self._epoch_logs) if mid else None,
            "augment": _augment_state(self.augment),
            "loss_fn": self.loss_fn.state_dict() if hasattr(self.loss_fn, "state_dict") else None,
            "callbacks": {key: cb.state_dict() for key, cb in _callback_keys(self.callbacks)},
            "stop_training": bool(self.stop_training),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned; callback states and the stop flag take effect in `fit`."""
        getattr(self.model, "module", self.model).load_state_dict(state["model"])
        if self.optimizer is not None and state.get("optimizer") is not None:
            self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state.get("scheduler") is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        if self.scaler.is_enabled() and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.epoch, self.global_step = int(state["epoch"]), int(state["global_step"])
        self.history = History(state.get("history"))
        self.batch_in_epoch = int(state.get("batch_in_epoch") or 0)
        stats = state.get("epoch_stats") if self.batch_in_epoch else None
        self._epoch_stats = self.task.restore_stats(stats) if stats is not None else None
        self._epoch_logs = dict(state.get("epoch_logs") or {})
        if state.get("augment") is not None:
            _set_augment_state(self.augment, state["augment"])
        if state.get("loss_fn") is not None and hasattr(self.loss_fn, "load_state_dict"):
            self.loss_fn.load_state_dict(state["loss_fn"])  # e.g. a distillation hint regressor
        self._restored = {"callbacks": state.get("callbacks") or {}, "stop": bool(state.get("stop_training"))}

    def _apply_restored(self) -> None:
        # After on_train_begin (which resets callbacks), so restored callback states win.
        if self._restored is None:
            return
        saved = self._restored["callbacks"]
        for key, cb in _callback_keys(self.callbacks):
            if key in saved:
                cb.load_state_dict(saved[key])
        self.stop_training = self._restored["stop"]
        self._restored = None


def _callback_keys(callbacks: Sequence[Callback]) -> list[tuple[str, Callback]]:
    """A checkpoint key per stateful callback: its class name, then "Name#2", "Name#3" for more of one class
    (two `EarlyStopping`s keep two states; checkpoints from before, keyed by class name, still load)."""
    seen: dict[str, int] = {}
    keys = []
    for cb in callbacks:
        if hasattr(cb, "state_dict"):
            name = type(cb).__name__
            seen[name] = seen.get(name, 0) + 1
            keys.append((name if seen[name] == 1 else f"{name}#{seen[name]}", cb))
    return keys


def _augment_state(augment: Any) -> Any:
    """The augmentation's random state: its `state_dict()`, or its `generator`'s state."""
    if augment is None:
        return None
    if hasattr(augment, "state_dict"):
        return augment.state_dict()
    g = getattr(augment, "generator", None)
    return {"generator": g.get_state()} if isinstance(g, torch.Generator) else None


def _set_augment_state(augment: Any, state: Any) -> None:
    if hasattr(augment, "load_state_dict"):
        augment.load_state_dict(state)
    elif isinstance(getattr(augment, "generator", None), torch.Generator):
        augment.generator.set_state(state["generator"])
