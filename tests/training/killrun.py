"""Run `zenlearn train ARGS…` and stop it at one chosen point with a real signal (a test helper).

Usage: python tests/killrun.py POINT ARGS…, where POINT is one of
    step:N           SIGKILL right after optimizer step N (before that batch's checkpoint)
    sigterm:N        SIGTERM after step N (the run checkpoints at the batch end and exits 143)
    sigint:N         SIGINT after step N (exits 130)
    sigstop:N        SIGSTOP after step N (the run halts, "running", until the test kills it)
    epoch_saved:N    SIGKILL right after epoch N's checkpoint was written
    epoch_unsaved:N  SIGKILL after epoch N finished, before its checkpoint was written
    in_save:N        SIGKILL halfway through writing the N-th checkpoint of this process
    after_fit        SIGKILL after training, before model.safetensors is written
"""

from __future__ import annotations

import os
import signal
import sys

from zenlearn.cli.main import main
from zenlearn.io import atomic, checkpoint
from zenlearn.training import resume
from zenlearn.training import trainer as train
from zenlearn.workflows import train as run


def die(sig: int = signal.SIGKILL) -> None:
    os.kill(os.getpid(), sig)


def install(point: str) -> None:
    kind, _, arg = point.partition(":")
    n = int(arg or 0)
    if kind in ("step", "sigterm", "sigint", "sigstop"):
        sig = {"step": signal.SIGKILL, "sigterm": signal.SIGTERM, "sigint": signal.SIGINT, "sigstop": signal.SIGSTOP}[kind]
        step = train.Trainer.train_step

        def train_step(self, x, y):
            out = step(self, x, y)
            if self.global_step == n:
                die(sig)
            return out

        train.Trainer.train_step = train_step
    elif kind in ("epoch_saved", "epoch_unsaved"):
        end = resume.RunCheckpoint.on_epoch_end

        def on_epoch_end(self, epoch, logs):
            if kind == "epoch_unsaved" and epoch + 1 == n:
                die()
            end(self, epoch, logs)
            if epoch + 1 == n:
                die()

        resume.RunCheckpoint.on_epoch_end = on_epoch_end
    elif kind == "in_save":
        writes = [0]
        write_bytes = checkpoint.write_bytes

        def half_write(path, data):
            writes[0] += 1
            if writes[0] < n:
                return write_bytes(path, data)
            with atomic.atomic_open(path, "wb") as f:
                f.write(data[: len(data) // 2])
                f.flush()
                os.fsync(f.fileno())
                die()

        checkpoint.write_bytes = half_write
    elif kind == "after_fit":
        run.save_weights = lambda *a, **k: die()
    else:
        raise SystemExit(f"unknown kill point {point!r}")


if __name__ == "__main__":
    install(sys.argv[1])
    sys.exit(main(sys.argv[2:]))
