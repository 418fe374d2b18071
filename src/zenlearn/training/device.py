"""Where and how a run computes: the device ("auto" → cuda if available), the precision check and CPU threads."""

from __future__ import annotations

import os

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
    training gets several times slower than on one thread; idle cores are the CPU count minus the
    1-minute load average, at least 1.

    Args:
        threads: Thread count, 0 for auto, or None to leave torch's setting alone.

    Example:
        >>> set_threads(None) >= 1
        True
    """
    if threads == 0:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        threads = max(1, min(cores, round(cores - os.getloadavg()[0]))) if hasattr(os, "getloadavg") else cores
    if threads:
        torch.set_num_threads(threads)
    return torch.get_num_threads()
