"""Reading user files for `zenlearn predict`: images (PNG/JPEG/BMP/…), `.npy` arrays and IDX files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from zenlearn.data.arrays import DataSpec, to_float
from zenlearn.data.decode import decode_image
from zenlearn.data.idx import read_idx
from zenlearn.errors import UsageError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}


def read_image(path: Path, shape: tuple[int, ...]) -> Tensor:
    """One image as a uint8 (C, H, W) tensor, converted to C channels and resized to (H, W)."""
    return torch.from_numpy(np.ascontiguousarray(decode_image(path, shape)).copy())


def read_inputs(path: str | Path, spec: DataSpec) -> Tensor:
    """The samples in `path` as a float batch (N, *spec.input_shape), scaled like the training data."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"input file {path} not found")
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        if spec.kind != "image":
            raise UsageError(f"{path}: an image, but the model was trained on {spec.kind} data {spec.input_shape}")
        return to_float(read_image(path, spec.input_shape).unsqueeze(0), spec.scale)
    if suffix == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as e:
            raise UsageError(f"{path}: not a readable .npy array ({e})") from None
    elif suffix == ".gz" or "idx" in path.name or "ubyte" in path.name:
        arr = read_idx(path)
    else:
        raise UsageError(f"{path}: unsupported input type {suffix or '(none)'}; pass an image "
                         f"({', '.join(sorted(IMAGE_SUFFIXES))}), a .npy array or an IDX file")
    return _batch(path, arr, spec)


def _batch(path: Path, arr: np.ndarray, spec: DataSpec) -> Tensor:
    shape = tuple(spec.input_shape)
    arr = np.ascontiguousarray(arr)
    t = torch.from_numpy(arr if arr.flags.writeable else arr.copy())  # IDX files are read-only buffers
    if t.shape == shape:
        t = t.unsqueeze(0)
    elif len(shape) == 3 and shape[0] == 1 and tuple(t.shape[-2:]) == shape[1:] and t.ndim in (2, 3):
        t = t.reshape(-1, *shape)  # (H, W) or (N, H, W) grayscale
    elif tuple(t.shape[1:]) != shape:
        raise UsageError(f"{path}: array of shape {tuple(arr.shape)} does not fit the model's input {shape} "
                         f"(or a batch of them)")
    if t.dtype == torch.uint8:
        return to_float(t, spec.scale)
    if not (t.is_floating_point() or t.dtype in (torch.int32, torch.int64, torch.int16, torch.int8)):
        raise UsageError(f"{path}: unsupported array dtype {arr.dtype}")
    return t.to(torch.float32)
