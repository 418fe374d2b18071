"""Random parameters of an `Augment` pipeline, drawn per sample, and the one affine matrix built from them.

Parameters are plain tensors of shape (B,) (boxes: (B, 4)), so a test or a user can hand-make them:
`rotation` (degrees, counter-clockwise), `shift_x` / `shift_y` (pixels, positive moves the content
right / down), `shear` (degrees), `zoom_x` / `zoom_y` (Keras: > 1 zooms out), `flip_h` / `flip_v` (0 or 1),
`crop_x` / `crop_y` (padded-crop offsets, pixels), `crop_box` (x0, y0, width, height of a resized crop),
`channel_shift`, `brightness`, `contrast`, `noise` (B, C, H, W), `cutout` / `erasing` boxes (x0, y0, x1, y1).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

_ATTEMPTS = 10  # resized-crop tries per sample before the centre-crop fallback (as torchvision)


def sample_params(aug: Any, shape: tuple[int, ...], g: torch.Generator) -> dict[str, Tensor]:
    """Independent random parameters for each sample of a (B, C, H, W) batch, from generator `g`."""
    b, c, h, w = shape
    dev = g.device
    u = torch.rand(24, b, generator=g, device=dev)  # one draw: row k feeds parameter k
    p: dict[str, Tensor] = {}

    def span(k: int, lo: float, hi: float) -> Tensor:
        return lo + (hi - lo) * u[k]

    if aug.rotation_range:
        p["rotation"] = span(0, -aug.rotation_range, aug.rotation_range)
    for axis, size, k in (("x", w, 1), ("y", h, 3)):
        rule = aug.shift[axis]
        if rule is None:
            continue
        kind, arg = rule
        if kind == "uniform":
            t, biggest = span(k, -arg, arg), arg
        else:  # Keras: a random element of the list (or of range(n)), with a random sign
            vals = torch.tensor(arg, device=dev, dtype=u.dtype)
            t = vals[(u[k] * len(arg)).long().clamp_max(len(arg) - 1)] * torch.where(u[k + 1] < 0.5, -1.0, 1.0)
            biggest = max(arg)
        p[f"shift_{axis}"] = t * size if biggest < 1 else t
    if aug.shear_range:
        p["shear"] = span(5, -aug.shear_range, aug.shear_range)
    if aug.zoom["x"] != (1.0, 1.0) or aug.zoom["y"] != (1.0, 1.0):
        p["zoom_x"], p["zoom_y"] = span(6, *aug.zoom["x"]), span(7, *aug.zoom["y"])
    if aug.horizontal_flip:
        p["flip_h"] = (u[8] < 0.5).to(u.dtype)
    if aug.vertical_flip:
        p["flip_v"] = (u[9] < 0.5).to(u.dtype)
    if aug.crop_padding:
        n = 2 * aug.crop_padding + 1
        p["crop_x"] = (u[10] * n).floor().clamp_max(n - 1) - aug.crop_padding
        p["crop_y"] = (u[11] * n).floor().clamp_max(n - 1) - aug.crop_padding
    if aug.resized_crop:
        p["crop_box"] = _resized_crop_boxes(aug, b, h, w, g, u[22], u[23])
    if aug.channel_shift:
        p["channel_shift"] = span(12, -aug.channel_shift, aug.channel_shift)
    if aug.brightness is not None:
        p["brightness"] = span(13, *aug.brightness)
    if aug.contrast is not None:
        p["contrast"] = span(14, *aug.contrast)
    if aug.noise_std:
        p["noise"] = torch.randn(b, c, h, w, generator=g, device=dev) * aug.noise_std
    if aug.cutout:
        side = aug.cutout if aug.cutout >= 1 else aug.cutout * min(h, w)
        cx, cy = (u[15] * w).floor(), (u[16] * h).floor()  # centre pixel; the square may leave the image
        half = math.floor(side / 2)
        p["cutout"] = torch.stack((cx - half, cy - half, cx - half + round(side), cy - half + round(side)), 1)
    if aug.random_erasing:
        p["erasing"] = _erasing_boxes(aug, h, w, u[17:22])
    return p


def _resized_crop_boxes(aug: Any, b: int, h: int, w: int, g: torch.Generator, ux: Tensor,
                        uy: Tensor) -> Tensor:
    """torchvision's RandomResizedCrop box, batched: first of 10 (area, log-ratio) tries that fits."""
    t = torch.rand(2, b, _ATTEMPTS, generator=g, device=g.device)
    (s0, s1), (r0, r1) = aug.crop_scale, aug.crop_ratio
    area = h * w * (s0 + (s1 - s0) * t[0])  # (B, tries)
    ratio = torch.exp(math.log(r0) + (math.log(r1) - math.log(r0)) * t[1])
    cw, ch = torch.sqrt(area * ratio), torch.sqrt(area / ratio)
    fits = (cw <= w) & (ch <= h)
    first = fits.to(torch.uint8).argmax(1, keepdim=True)  # index of the first fitting try
    cw, ch = cw.gather(1, first)[:, 0], ch.gather(1, first)[:, 0]
    # fallback (no try fits): the largest centred crop whose aspect ratio is inside the range
    in_ratio = w / h
    fw, fh = (w, w / r0) if in_ratio < r0 else ((h * r1, h) if in_ratio > r1 else (w, h))
    ok = fits.any(1)
    cw = torch.where(ok, cw, torch.full_like(cw, float(fw)))
    ch = torch.where(ok, ch, torch.full_like(ch, float(fh)))
    x0 = torch.where(ok, (w - cw) * ux, (w - cw) / 2)
    y0 = torch.where(ok, (h - ch) * uy, (h - ch) / 2)
    return torch.stack((x0, y0, cw, ch), 1)  # (B, 4)


def _erasing_boxes(aug: Any, h: int, w: int, u: Tensor) -> Tensor:
    """Random-erasing rectangles (x0, y0, x1, y1); an empty box where the coin says no."""
    (s0, s1), (r0, r1) = aug.erasing_scale, aug.erasing_ratio
    area = h * w * (s0 + (s1 - s0) * u[1])
    ratio = torch.exp(math.log(r0) + (math.log(r1) - math.log(r0)) * u[2])
    eh = torch.sqrt(area * ratio).round().clamp(1, h)
    ew = torch.sqrt(area / ratio).round().clamp(1, w)
    y0 = (u[3] * (h - eh + 1)).floor()
    x0 = (u[4] * (w - ew + 1)).floor()
    on = (u[0] < aug.random_erasing).to(u.dtype)
    return torch.stack((x0, y0, x0 + ew * on, y0 + eh * on), 1)  # (B, 4)


def erase_mask(box: Tensor, h: int, w: int) -> Tensor:
    """(B, 1, H, W) mask of the pixels inside integer boxes (x0, y0, x1, y1), x1/y1 exclusive."""
    ys = torch.arange(h, device=box.device, dtype=box.dtype).view(1, h, 1)
    xs = torch.arange(w, device=box.device, dtype=box.dtype).view(1, 1, w)
    x0, y0, x1, y1 = (box[:, i].view(-1, 1, 1) for i in range(4))
    return ((xs >= x0) & (xs < x1) & (ys >= y0) & (ys < y1)).unsqueeze(1)


def affine_matrix(p: dict[str, Tensor], b: int, h: int, w: int, device: torch.device) -> Tensor:
    """(B, 3, 3) output-pixel → source-pixel matrices in (x, y) order:
    resized crop ∘ padded crop ∘ Keras (rotation ∘ shift ∘ shear ∘ zoom, about the centre) ∘ flips.

    Written out in closed form (a few elementwise ops on (B,) tensors instead of chained 3x3 products):
    Keras' R(θ) S(t) Sh(s) Z(zx, zy) has linear part [[zx cos θ, -zy sin(θ+s)], [zx sin θ, zy cos(θ+s)]]
    and translation -R(θ) t.

    Example:
        >>> m = affine_matrix({"flip_h": torch.ones(1)}, 1, 4, 4, torch.device("cpu"))
        >>> m[0, 0].tolist() == [-1.0, 0.0, 3.0]   # source x = 3 - x
        True
    """
    zero = torch.zeros(b, device=device)
    cx, cy = (w - 1) / 2, (h - 1) / 2
    th = p["rotation"] * (math.pi / 180) if "rotation" in p else zero
    sh = th + p["shear"] * (math.pi / 180) if "shear" in p else th
    zx, zy = p.get("zoom_x", 1.0), p.get("zoom_y", 1.0)
    cos, sin = th.cos(), th.sin()
    a, b_ = zx * cos, -zy * sh.sin()  # linear part [[a, b_], [d, e]]
    d, e = zx * sin, zy * sh.cos()
    sx, sy = p.get("shift_x", zero), p.get("shift_y", zero)
    tx = -(cos * sx - sin * sy) + cx - (a * cx + b_ * cy)  # -R t, then about the centre
    ty = -(sin * sx + cos * sy) + cy - (d * cx + e * cy)
    if "flip_h" in p:  # right-multiply by x -> (w-1) - x
        fh = p["flip_h"]
        tx, ty = tx + a * fh * (w - 1), ty + d * fh * (w - 1)
        a, d = a * (1 - 2 * fh), d * (1 - 2 * fh)
    if "flip_v" in p:
        fv = p["flip_v"]
        tx, ty = tx + b_ * fv * (h - 1), ty + e * fv * (h - 1)
        b_, e = b_ * (1 - 2 * fv), e * (1 - 2 * fv)
    if "crop_x" in p:  # left-multiply by a translation
        tx, ty = tx + p["crop_x"], ty + p["crop_y"]
    if "crop_box" in p:  # left-multiply by the crop's scale + offset
        x0, y0, cw, ch = p["crop_box"].unbind(1)
        kx, ky = cw / w, ch / h
        a, b_, tx = a * kx, b_ * kx, tx * kx + x0 + 0.5 * kx - 0.5
        d, e, ty = d * ky, e * ky, ty * ky + y0 + 0.5 * ky - 0.5
    rows = torch.stack([torch.as_tensor(v, device=device, dtype=zero.dtype).expand(b) for v in (a, b_, tx, d, e, ty)], 1)
    return torch.cat((rows, torch.tensor([0.0, 0.0, 1.0], device=device).expand(b, 3)), 1).view(b, 3, 3)
