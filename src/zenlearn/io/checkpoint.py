"""Weights (safetensors) and resumable checkpoints (one plain dict, `torch.load(weights_only=True)`)."""

from __future__ import annotations

import io
import pickle
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from zenlearn.errors import UsageError
from zenlearn.io.atomic import write_bytes


def save_weights(model: nn.Module, path: str | Path) -> None:
    """Write `model`'s state dict to a safetensors file, atomically."""
    from safetensors.torch import save

    state = {k: v.detach().contiguous().cpu() for k, v in _unwrap(model).state_dict().items()}
    write_bytes(path, save(state))


def load_weights(model: nn.Module, path: str | Path) -> nn.Module:
    """Load safetensors weights into `model`; a missing, corrupt or mismatched file is a `UsageError`."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise UsageError(f"weights file {path} not found; train a run first or pass the right RUN_DIR")
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError, KeyError, TypeError, MemoryError) as e:
        raise UsageError(f"{path}: not a valid safetensors file ({e}); retrain or restore it") from None
    try:
        _unwrap(model).load_state_dict(state)
    except RuntimeError as e:
        raise UsageError(f"{path}: weights do not match the model ({str(e).splitlines()[0]})") from None
    return model


def rng_state() -> dict[str, Any]:
    """Every RNG state a run depends on (torch CPU and CUDA, numpy, Python)."""
    state = {"torch": torch.get_rng_state(), "numpy": _numpy_state(), "python": _python_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), int(pos), int(has_gauss), float(gauss)))
    version, internal, g = state["python"]
    random.setstate((int(version), tuple(int(v) for v in internal.tolist()), None if g is None else float(g)))


def save_checkpoint(path: str | Path, ckpt: dict[str, Any]) -> None:
    """Write a checkpoint dict (tensors, numbers, strings, lists, dicts only) atomically.

    It is serialized in memory first, so a failing write (a full disk) is always a plain `OSError` for
    `atomic_open` to report, and the previous checkpoint stays intact.
    """
    buf = io.BytesIO()
    torch.save(ckpt, buf)
    write_bytes(path, buf.getvalue())


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint with `weights_only=True`: a file that tries to run code fails and runs nothing."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"checkpoint {path} not found; nothing to resume from")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        unsafe = [ln.strip() for ln in str(e).splitlines() if "GLOBAL" in ln or "global" in ln]
        what = unsafe[0] if unsafe else str(e).strip().splitlines()[-1][:200]
        raise UsageError(f"{path}: refused to load: it holds more than tensors and plain values ({what}); "
                         f"such a file can run code, so nothing in it was run — use a checkpoint written by "
                         f"zenlearn") from None
    except Exception as e:  # noqa: BLE001 - a truncated or garbled file fails in many ways inside torch
        first = str(e).strip().splitlines()[0][:160] if str(e).strip() else type(e).__name__
        raise UsageError(f"{path}: not a loadable zenlearn checkpoint ({type(e).__name__}: {first}); it is "
                         f"corrupt or truncated — restore it, or start again with --overwrite") from None
    if not isinstance(ckpt, dict):
        raise UsageError(f"{path}: holds a {type(ckpt).__name__}, not a zenlearn checkpoint dict")
    return ckpt


def _numpy_state() -> list[Any]:
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    return [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss]


def _python_state() -> list[Any]:
    version, internal, g = random.getstate()
    return [version, torch.tensor(internal, dtype=torch.int64), g]


def _unwrap(model: nn.Module) -> nn.Module:
    return getattr(model, "module", model)
