"""Where and how a run computes: the device ("auto" → cuda if available), the precision check, CPU threads,
and the C allocator's thresholds for a training process."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import time
from pathlib import Path

import torch

from zenlearn.errors import UsageError


def check_precision(precision: str, device: torch.device) -> None:
    """Refuse an unknown precision, and float16 (which needs a grad scaler) anywhere but on CUDA.

    Example:
        >>> check_precision("16", torch.device("cpu"))
        Traceback (most recent call last):
        zenlearn.errors.UsageError: --precision 16 (float16 with a grad scaler) needs a CUDA device; on CPU use --precision bf16 or 32
    """
    if precision not in ("32", "bf16", "16"):
        raise UsageError(f"precision must be one of 32, bf16, 16; got {precision!r}")
    if precision == "16" and device.type != "cuda":
        raise UsageError("--precision 16 (float16 with a grad scaler) needs a CUDA device; on CPU use "
                         "--precision bf16 or 32")


def prefers_channels_last(model: torch.nn.Module, device: torch.device) -> bool:
    """Whether `model` trains channels-last on `device`: 2-D conv models on CPU (oneDNN's fast layout).

    The `Trainer` and data parallelism both ask here, so that DDP builds its gradient buckets in the layout
    the parameters train in (otherwise every process warns "Grad strides do not match bucket view strides")."""
    return device.type == "cpu" and any(isinstance(m, torch.nn.Conv2d) for m in model.modules())


def resolve_device(device: str | torch.device) -> torch.device:
    """"auto" → cuda if available else cpu; "cuda" without a GPU is a `UsageError`."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError("--device cuda: no CUDA GPU is available here; use --device cpu or auto")
    try:
        return torch.device(device)
    except RuntimeError:
        raise UsageError(f"--device: expected auto, cpu or cuda, got {device!r}") from None


def set_threads(threads: int | None) -> int:
    """Set torch's CPU thread count and return it: None keeps torch's choice, 0 takes one per idle core.

    On a machine already busy, torch's threads wait for each other at every op (OpenMP barriers) and
    training gets several times slower than on one thread. Idle cores are measured, not guessed from the
    load average: a VM's load average can sit at 1.5 with both cores idle (kernel threads in the
    uninterruptible state count), which would give one thread where two run 1.5x faster.

    Args:
        threads: Thread count, 0 for auto, or None to leave torch's setting alone.

    Example:
        >>> set_threads(None) >= 1
        True
    """
    if threads == 0:
        threads = idle_cores()
    if threads:
        torch.set_num_threads(threads)
    return torch.get_num_threads()


def idle_cores(window: float = 0.05) -> int:
    """How many of this process's cores are idle: the machine's idle share over `window` seconds (from
    /proc/stat) times the cores this process may use, rounded, at least 1; all of them off Linux.

    Example:
        >>> 1 <= idle_cores() <= (os.cpu_count() or 1)
        True
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        a = _cpu_times()
        time.sleep(window)
        b = _cpu_times()
    except (OSError, ValueError, IndexError):
        return cores
    busy = [y - x for x, y in zip(a, b)]
    total = sum(busy)
    idle = (busy[3] + busy[4]) / total if total > 0 else 1.0  # idle + iowait
    return max(1, min(cores, round(idle * (os.cpu_count() or cores))))


def _cpu_times() -> list[int]:
    return [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc mallopt parameters
MMAP_THRESHOLD = 32 << 20  # glibc's own ceiling for its dynamic threshold (DEFAULT_MMAP_THRESHOLD_MAX, 64-bit)
_ALLOCATOR = [False]


def keep_freed_memory() -> bool:
    """Let glibc's malloc keep freed blocks of up to 32 MB for reuse instead of returning them to the OS.

    A training step allocates and frees the same activation buffers (megabytes each) hundreds of times a
    second. glibc serves blocks above its mmap threshold (128 KB at start, raised only as big blocks are freed)
    with fresh `mmap`s and trims its heap eagerly, so each step page-faults its buffers in again. Measured on
    the seed CNN on MNIST (one epoch, 2 cores): 1.3-1.5 M minor page faults and 10.0-10.8 s of training,
    against 0.40-0.54 M faults and the old speed with the thresholds fixed at 32 MB (mmap) and 64 MB (trim).
    The old code got this by accident: it freed a 47 MB decompression buffer first, which raised glibc's
    dynamic threshold to its ceiling.

    Does nothing off glibc, when `MALLOC_MMAP_THRESHOLD_` / `MALLOC_TRIM_THRESHOLD_` are set (the user's
    choice wins), or after the first call. Returns whether the thresholds were set now.

    Example:
        >>> MMAP_THRESHOLD >> 20, (2 * MMAP_THRESHOLD) >> 20  # MB: blocks served from the heap, heap kept
        (32, 64)
    """
    if _ALLOCATOR[0] or not sys.platform.startswith("linux"):
        return False
    _ALLOCATOR[0] = True
    if os.environ.get("MALLOC_MMAP_THRESHOLD_") or os.environ.get("MALLOC_TRIM_THRESHOLD_"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and other libcs have no mallopt
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, 2 * MMAP_THRESHOLD))
