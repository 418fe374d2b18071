"""TensorBoard logging through `torch.utils.tensorboard` (the `tensorboard` package is an optional extra)."""

from __future__ import annotations

import numbers
from pathlib import Path
from typing import Any

from zenlearn.errors import UsageError
from zenlearn.training.callbacks import Callback

INSTALL_HINT = "pip install 'zenlearn[tensorboard]'"


def require_tensorboard() -> None:
    """Fail early, before any training, when the `tensorboard` package is missing."""
    try:
        import tensorboard  # noqa: F401
        from torch.utils.tensorboard import SummaryWriter  # noqa: F401
    except ImportError:
        raise UsageError(f"--tensorboard needs the tensorboard package; install it with {INSTALL_HINT} "
                         f"or drop --tensorboard") from None


def scalar_tag(key: str) -> str:
    """Epoch-log key → TensorBoard tag: loss → train/loss, val_accuracy → val/accuracy, lr → lr."""
    if key == "lr":
        return "lr"
    if key in ("seconds", "train_seconds"):
        return f"time/{key}"
    if key.startswith("val_"):
        return "val/" + key[4:]
    return "train/" + key


class TensorBoard(Callback):
    """Write every numeric epoch log (loss, metrics, lr, time) as a scalar, and hyper-parameters at the end.

    Args:
        log_dir: Event-file folder, e.g. "runs/cnn/tb".
        hparams: Hyper-parameters to record with `write_hparams`. Defaults to none.

    Example:
        >>> import torch
        >>> from zenlearn.training.trainer import Trainer
        >>> model = torch.nn.Linear(4, 2)
        >>> cb = TensorBoard(tmp / "tb", {"lr": 0.1})
        >>> trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1), callbacks=[cb], device="cpu")
        >>> _ = trainer.fit((torch.randn(8, 4), torch.randint(0, 2, (8,))), epochs=1, verbose=False)
        >>> any((tmp / "tb").iterdir())
        True
    """

    def __init__(self, log_dir: str | Path, hparams: dict[str, Any] | None = None) -> None:
        require_tensorboard()
        self.log_dir, self.hparams = Path(log_dir), dict(hparams or {})
        self.writer: Any = None

    def _open(self) -> Any:
        if self.writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(self.log_dir))
        return self.writer

    def on_train_begin(self, logs: dict[str, Any]) -> None:
        self._open()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
        w = self._open()
        for k, v in logs.items():
            if isinstance(v, numbers.Real) and not isinstance(v, bool):
                w.add_scalar(scalar_tag(k), float(v), epoch + 1)
        w.flush()

    def write_hparams(self, metrics: dict[str, float]) -> None:
        """Record the hyper-parameters with the final `metrics` (shown in TensorBoard's HPARAMS tab)."""
        hp = {k: _hparam_value(v) for k, v in self.hparams.items()}
        w = self._open()
        # run_name="." keeps the hparams in the same event folder as the scalars (one run in TensorBoard).
        w.add_hparams(hp, {f"hparam/{k}": float(v) for k, v in metrics.items()}, run_name=".")
        w.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def _hparam_value(v: Any) -> Any:
    if v is None:
        return "none"
    if isinstance(v, (bool, int, float, str)):
        return v
    return ",".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)
