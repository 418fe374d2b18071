"""Decision boundaries of a model on 2-D data, as in TensorFlow Playground but with any zenlearn model: its
class probabilities on a fixed grid over the plane (`DataSpec.extent`), drawn as a heat map (each pixel the
colour of its most likely class, paler where the model is unsure) with the training points on top, as PNG bytes.

The grid and the points are fixed for the whole race, so equal weights give equal bytes: a rewound lane's image
is its first image, byte for byte.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor

from zenlearn.data import plane_extent, plane_grid
from zenlearn.report.plots.style import colors

GRID = 64
"""Grid points per side: the model sees GRID² inputs per image."""
ZOOM = 3
"""Pixels per grid point in the image (GRID · ZOOM pixels per side)."""
POINTS = 300
"""The most training points drawn on the map."""


def is_2d(spec: Any, categorical: bool) -> bool:
    """Whether a dataset (its `DataSpec`) gets decision boundaries: a plane (`extent` set), a class per sample."""
    return categorical and bool(getattr(spec, "extent", None))


class Boundary:
    """Draws decision boundaries over `extent`, with training inputs `x` (N, 2) and their labels `y` on top.

    Args:
        x: Training inputs as the model sees them, (N, 2).
        y: Their classes, (N,).
        classes: How many classes.
        extent: [x_min, x_max, y_min, y_max] (`DataSpec.extent`). Defaults to the box around `x`.

    Example:
        >>> x, y = torch.randn(100, 2), torch.randint(0, 3, (100,))
        >>> model = torch.nn.Linear(2, 3)
        >>> png = Boundary(x, y, 3).png(lambda g: model(g).softmax(-1))
        >>> png[1:4]
        b'PNG'
    """

    def __init__(self, x: Tensor, y: Tensor, classes: int, extent: list[float] | None = None) -> None:
        x = x.detach().float().cpu().reshape(len(x), 2)
        extent = list(extent or plane_extent(x))
        self.grid = plane_grid(extent, GRID).float()  # (GRID², 2), row 0 at the top
        self.lo, self.hi = torch.tensor(extent[0::2]), torch.tensor(extent[1::2])  # (x, y) lows and highs
        self.classes = max(2, int(classes))
        self.palette = np.array([c[:3] for c in colors(self.classes)], dtype=np.float32) * 255  # (K, 3)
        pick = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))[:POINTS]
        size = GRID * ZOOM
        px = ((x[pick] - self.lo) / (self.hi - self.lo) * (size - 1)).round().long().numpy()  # (P, 2): x, y up
        rows, cols, labels = size - 1 - px[:, 1], px[:, 0], y[pick].long().numpy() % len(self.palette)
        # each point a 3 × 3 dot in its class colour, darkened, inside a 5 × 5 white rim: pixel indices, once
        self.rim = _square(rows, cols, 2, size)
        self.dot = _square(rows, cols, 1, size)
        self.dot_rgb = np.repeat(self.palette[labels] * 0.7, 9, 0)  # (P · 9, 3)

    def image(self, probs: Tensor) -> np.ndarray:
        """The heat map of class probabilities `probs` (GRID², K) as an RGB array (GRID·ZOOM, GRID·ZOOM, 3)."""
        p = probs.detach().float().cpu().reshape(GRID, GRID, -1).numpy()
        k = p.shape[-1]
        top = p.argmax(-1)  # (G, G)
        sure = (p.max(-1) - 1 / k) / (1 - 1 / k)  # 0 at a uniform guess, 1 when certain
        alpha = (0.15 + 0.6 * np.clip(sure, 0, 1))[..., None]
        rgb = 255 * (1 - alpha) + self.palette[top % len(self.palette)] * alpha  # (G, G, 3)
        rgb = np.repeat(np.repeat(rgb, ZOOM, 0), ZOOM, 1)
        rgb[self.rim] = 255
        rgb[self.dot] = self.dot_rgb
        return rgb.round().astype(np.uint8)

    def png(self, predict: Callable[[Tensor], Tensor]) -> bytes:
        """PNG bytes of the boundary of `predict` (grid (GRID², 2) → class probabilities (GRID², K))."""
        from PIL import Image

        with torch.inference_mode():
            probs = predict(self.grid)
        buf = io.BytesIO()
        Image.fromarray(self.image(probs), "RGB").save(buf, format="PNG", compress_level=1)  # fast, still exact
        return buf.getvalue()


def _square(rows: np.ndarray, cols: np.ndarray, r: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel indices of a (2r+1)² square around each (row, col), clipped to the image: ((P · (2r+1)²,), same)."""
    d = np.arange(-r, r + 1)
    rr = (rows[:, None, None] + d[None, :, None]).repeat(len(d), 2).reshape(-1)
    cc = (cols[:, None, None] + d[None, None, :]).repeat(len(d), 1).reshape(-1)
    return np.clip(rr, 0, size - 1), np.clip(cc, 0, size - 1)
