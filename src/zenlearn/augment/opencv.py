"""The affine warp of uint8 pixel batches with OpenCV (`zenlearn[opencv]`): `Augment`'s fast path on CPU.

`cv2.warpAffine` resamples 8-bit, channels-last images with SIMD, one image per call, the images of a batch
spread over torch's CPU threads. On a (32, 3, 224, 224) batch with the survey's settings it is about 2× faster
than `grid_sample` on the same pixels as floats, float conversion included (docs/benchmarks.md), and it reads
4× fewer bytes. It is used only where its result matches `zenlearn.augment.warp` up to rounding:

- **fill modes** nearest (`BORDER_REPLICATE`), reflect (`BORDER_REFLECT`: d c b a | a b c d | d c b a) and
  wrap (`BORDER_WRAP`: periodic, blending across the seam). "constant" is not: OpenCV blends the cval into
  the edge pixels, SciPy (and `zenlearn.augment.warp`) do not.
- **interpolation** bilinear (order 1) and nearest (order 0).
- **1 to 4 channels**, CPU tensors.

Differences from warping `x.float() / 255` with `zenlearn.augment.warp`: the result is rounded to 8 bits (at most
0.5 grey levels with OpenCV 5, which `zenlearn[opencv]` installs). OpenCV 4 also quantizes source
coordinates to 1/32 pixel: on random noise that measured 0.87 levels on average and 6.3 at most, and
nearest-neighbour picks differ at rounding ties. The tests bound both against `zenlearn.augment.warp`.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from torch import Tensor

_BORDERS = {"nearest": "BORDER_REPLICATE", "reflect": "BORDER_REFLECT", "wrap": "BORDER_WRAP"}
_INTERPOLATION = {1: "INTER_LINEAR", 0: "INTER_NEAREST"}


def opencv():
    """The `cv2` module, or None when OpenCV is not installed (`pip install 'zenlearn[opencv]'`)."""
    try:
        import cv2
    except ImportError:
        return None
    return cv2


def can_warp(x: Tensor, fill_mode: str, order: int) -> bool:
    """Whether `warp_pixels` handles this batch (else warp it as floats with `zenlearn.augment.warp`)."""
    return (x.dtype == torch.uint8 and x.device.type == "cpu" and x.ndim == 4 and 1 <= x.shape[1] <= 4
            and fill_mode in _BORDERS and order in _INTERPOLATION and opencv() is not None)


def warp_pixels(x: Tensor, matrix: Tensor, fill_mode: str = "nearest", order: int = 1,
                pool: WarpPool | None = None) -> Tensor:
    """Resample a uint8 batch through per-sample affine matrices with OpenCV, into floats in [0, 1].

    Each image is warped in 8 bits and converted to float32 (× 1/255) while it is still in the CPU's cache,
    by the threads of `pool` (OpenCV and NumPy release the GIL; OpenCV's own threading is set to 1 during the
    call and restored after it, so the two do not oversubscribe the cores).

    Args:
        x: uint8 images (B, C, H, W) on the CPU, 1 ≤ C ≤ 4; channels-last in memory avoids a copy.
        matrix: (B, 3, 3) maps output pixel (x, y, 1) to source pixel (x, y, 1), pixel centres at integers
            (the `zenlearn.augment.warp` convention; OpenCV's `WARP_INVERSE_MAP`).
        fill_mode: "nearest", "reflect" or "wrap". Defaults to "nearest".
        order: 1 for bilinear, 0 for nearest-neighbour interpolation. Defaults to 1.
        pool: The threads to warp with (an `Augment`'s own). Defaults to None: in the calling thread.

    Returns:
        float32 (B, C, H, W) in [0, 1], channels-last in memory.

    Example:
        >>> x = torch.arange(4, dtype=torch.uint8).reshape(1, 1, 1, 4)
        >>> shift = torch.tensor([[[1., 0, -1], [0, 1, 0], [0, 0, 1]]])   # source x = output x - 1
        >>> (warp_pixels(x, shift, "wrap") * 255).round().flatten().tolist()
        [3.0, 0.0, 1.0, 2.0]
    """
    cv2 = opencv()
    if cv2 is None or not can_warp(x, fill_mode, order):
        raise ValueError(f"warp_pixels needs OpenCV and a CPU uint8 (B, 1-4, H, W) batch with fill mode "
                         f"{'/'.join(_BORDERS)} and order 0 or 1; got {x.dtype} {tuple(x.shape)} on {x.device}, "
                         f"{fill_mode!r}, order {order}")
    b, c, h, w = x.shape
    src = x.permute(0, 2, 3, 1).contiguous().numpy()  # (B, H, W, C): no copy when x is channels-last
    out = torch.empty((b, h, w, c), dtype=torch.float32)
    dst = out.numpy()
    m = matrix[:, :2].to(torch.float64).numpy()
    flags, border = getattr(cv2, _INTERPOLATION[order]) | cv2.WARP_INVERSE_MAP, getattr(cv2, _BORDERS[fill_mode])
    scale = np.float32(1 / 255)
    cv_threads = cv2.getNumThreads()

    def some(first: int, step: int) -> None:
        for i in range(first, b, step):
            warped = cv2.warpAffine(src[i], m[i], (w, h), flags=flags, borderMode=border)  # (H, W[, C]) uint8
            np.multiply(warped.reshape(h, w, c), scale, out=dst[i])

    threads = pool.get() if pool is not None else None
    tasks = min(torch.get_num_threads(), b)
    cv2.setNumThreads(1)
    try:
        if threads is None or tasks == 1:
            some(0, 1)
        else:  # task k takes every tasks-th image from k on: one task per thread, not one per image
            list(threads.map(some, range(tasks), [tasks] * tasks))
    finally:
        cv2.setNumThreads(cv_threads)
    return out.permute(0, 3, 1, 2)


class WarpPool:
    """The threads that warp one batch's images side by side: torch.get_num_threads() of them, none for one.
    An `Augment` owns one (nothing process-wide); it is rebuilt when the thread count changes, and in a forked
    child, which has none of its parent's threads. Pickled, it travels empty.

    Example:
        >>> pool = WarpPool()
        >>> torch.set_num_threads(1); pool.get() is None
        True
    """

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._threads, self._pid = 0, 0

    def get(self) -> ThreadPoolExecutor | None:
        threads = torch.get_num_threads()
        if threads <= 1:
            return None
        if self._pool is None or self._threads != threads or self._pid != os.getpid():
            if self._pool is not None and self._pid == os.getpid():
                self._pool.shutdown(wait=False)
            self._pool = ThreadPoolExecutor(threads, thread_name_prefix="zenlearn-warp")
            self._threads, self._pid = threads, os.getpid()
        return self._pool

    def __getstate__(self) -> dict:
        return {}

    def __setstate__(self, state: dict) -> None:
        self.__init__()
