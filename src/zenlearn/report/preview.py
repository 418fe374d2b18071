"""Image grids written as PNG: what `zenlearn augment` and the Lab's augmentation preview show (originals on top,
augmented draws below)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import Tensor

from zenlearn.io.atomic import write_bytes


def image_grid(rows: list[Tensor], pad: int = 2, min_cell: int = 64, labels: list[str] | None = None) -> np.ndarray:
    """Rows of float batches (N, C, H, W) in [0, 1] → one uint8 (H', W', 3) image, each cell upscaled
    (nearest neighbour) to at least `min_cell` pixels and framed by `pad` grey pixels; `labels` (one per row)
    are written in a white band on the left.

    Example:
        >>> image_grid([torch.zeros(3, 1, 8, 8), torch.ones(3, 1, 8, 8)], min_cell=8).shape
        (22, 32, 3)
        >>> image_grid([torch.zeros(3, 1, 8, 8)], min_cell=8, labels=["original"]).shape[1] > 32
        True
    """
    n, c, h, w = rows[0].shape
    k = max(1, -(-min_cell // max(h, w)))  # integer upscale factor
    ch, cw = h * k + pad, w * k + pad
    out = np.full((len(rows) * ch + pad, n * cw + pad, 3), 128, np.uint8)
    for r, batch in enumerate(rows):
        imgs = batch.detach().float().cpu().clamp(0, 1).mul(255).round().to(torch.uint8)  # (N, C, H, W)
        imgs = imgs.expand(-1, 3, -1, -1) if c == 1 else imgs[:, :3]
        imgs = imgs.repeat_interleave(k, 2).repeat_interleave(k, 3).permute(0, 2, 3, 1).numpy()
        for i, img in enumerate(imgs):
            y, x = pad + r * ch, pad + i * cw
            out[y : y + h * k, x : x + w * k] = img
    return _label_rows(out, labels, ch, pad) if labels else out


def _label_rows(grid: np.ndarray, labels: list[str], row_height: int, pad: int) -> np.ndarray:
    """`grid` with a white band on the left holding each row's label, centred on its row."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=max(11, min(16, row_height // 4)))
    draw = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    width = max(int(draw.textlength(t, font=font)) for t in labels) + 12
    img = Image.new("RGB", (width + grid.shape[1], grid.shape[0]), "white")
    img.paste(Image.fromarray(grid), (width, 0))
    draw = ImageDraw.Draw(img)
    for r, text in enumerate(labels):
        draw.text((6, pad + r * row_height + (row_height - pad) // 2), text, fill="black", font=font, anchor="lm")
    return np.asarray(img)


def augment_grid(x: Tensor, augment: Callable[[Tensor], Tensor], rows: int) -> np.ndarray:
    """The grid `zenlearn augment` and the Lab's preview show: the originals `x` (N, C, H, W) in [0, 1] on top,
    labelled, then `rows` rows, each one call of `augment` on them.

    Example:
        >>> augment_grid(torch.zeros(2, 1, 8, 8), lambda x: x + 1, rows=1).shape[0]
        134
    """
    labels = ["original"] + [f"augmented {i + 1}" for i in range(rows)]
    return image_grid([x] + [augment(x) for _ in range(rows)], labels=labels)


def png_bytes(image: np.ndarray) -> bytes:
    """A uint8 (H, W, 3) array encoded as PNG: the same array gives the same bytes."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


def write_png(path: str | Path, image: np.ndarray) -> None:
    """Write a uint8 (H, W, 3) array as a PNG, atomically."""
    write_bytes(path, png_bytes(image))
