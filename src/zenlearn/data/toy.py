"""2-D toy datasets: TensorFlow Playground's four (circle, xor, gauss, spiral) and two-moons, with k classes.

Each is an ordinary in-memory dataset (`--data spiral`, `--data moons:classes=3,noise=0.2`): points (N, 2)
with integer labels, a seeded generator, train / test held out here and validation split off by `load_splits`
as for every dataset. The options follow the name after a colon, `key=value` separated by commas:

    classes  the class count k (>= 2; xor has exactly 2). Defaults to 2.
    samples  points in all, train and test together (a fifth is the test split). Defaults to 1000.
    noise    standard deviation of the Gaussian noise added to every point. Defaults to the set's own.
    seed     the generator's seed: the same options give the same points. Defaults to 0.

Every set lies in about [-1, 1] x [-1, 1] before the noise, so an MLP needs no normalisation. Labels are
balanced (point i has class i mod k before the shuffle). The spec says the input is a plane: input_shape (2,),
kind "vector", and `DataSpec.extent`, the box holding every point (`plane_extent`), over which a decision
boundary is drawn (`plane_grid`); `load_splits` fills the extent for any two-feature vector dataset, a
two-column `table:` CSV included.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor

from zenlearn.data.arrays import ArrayData, DataSpec
from zenlearn.errors import UsageError

Generator = Callable[[Tensor, int, torch.Generator], Tensor]
OPTIONS = {"classes": int, "samples": int, "noise": float, "seed": int}
TEST_FRACTION = 0.2
MIN_PER_CLASS = 10


def _u(n: int, g: torch.Generator, lo: float | Tensor = 0.0, hi: float | Tensor = 1.0) -> Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=g)  # (n,)


def circle(y: Tensor, k: int, g: torch.Generator) -> Tensor:
    """Concentric classes: class 0 a disc, class i > 0 the ring of radii [(i + 0.2) / k, (i + 1) / k]."""
    w = 1.0 / k
    r = _u(len(y), g, (y + 0.2 * (y > 0)) * w, (y + 1) * w)  # (n,)
    a = _u(len(y), g, 0.0, 2 * math.pi)
    return torch.stack([r * a.cos(), r * a.sin()], 1)  # (n, 2)


def xor(y: Tensor, k: int, g: torch.Generator) -> Tensor:
    """Class 0 in the quadrants where x1 and x2 share a sign, class 1 in the other two; 0.05 away from the axes."""
    mag = _u(2 * len(y), g, 0.05, 1.0).view(-1, 2)  # (n, 2)
    s1 = torch.randint(0, 2, (len(y),), generator=g) * 2 - 1  # (n,)
    s2 = torch.where(y == 0, s1, -s1)
    return mag * torch.stack([s1, s2], 1)


def gauss(y: Tensor, k: int, g: torch.Generator) -> Tensor:
    """k Gaussian blobs (spread 0.12) with centres 0.6 from the origin, evenly spaced in angle."""
    a = math.pi / 4 + 2 * math.pi * y / k  # (n,)
    centre = 0.6 * torch.stack([a.cos(), a.sin()], 1)  # (n, 2)
    return centre + 0.12 * torch.randn(len(y), 2, generator=g)


def spiral(y: Tensor, k: int, g: torch.Generator) -> Tensor:
    """k interleaved arms of 1.75 turns each from the origin to radius 1 (Playground's spiral for k = 2)."""
    t = _u(len(y), g)  # (n,) position along the arm
    a = 1.75 * 2 * math.pi * t + 2 * math.pi * y / k
    return torch.stack([t * a.sin(), t * a.cos()], 1)


def moons(y: Tensor, k: int, g: torch.Generator) -> Tensor:
    """k interleaved half circles of radius 1 in a row, 1.25 apart, alternately opening down and up (two-moons for
    k = 2), scaled into [-1, 1] along x."""
    t = _u(len(y), g, 0.0, math.pi)  # (n,)
    up = (y % 2 == 0).float()  # even moons are upper arcs, as scikit-learn's first moon
    x = 1.25 * y + torch.where(up > 0, t.cos(), -t.cos())
    v = torch.where(up > 0, t.sin(), 0.5 - t.sin())
    return torch.stack([x, v], 1)  # (n, 2), before centring (`_place_moons`)


def _place_moons(x: Tensor, k: int) -> Tensor:
    span = 1.25 * (k - 1) + 2  # x runs from -1 to 1.25 (k - 1) + 1
    return (x - torch.tensor([1.25 * (k - 1) / 2, 0.25])) * (2 / span)


TOYS: dict[str, tuple[Generator, float, str]] = {
    "circle": (circle, 0.03, "a disc inside rings, one ring per class"),
    "xor": (xor, 0.03, "opposite quadrants share a class (2 classes only)"),
    "gauss": (gauss, 0.05, "one Gaussian blob per class"),
    "spiral": (spiral, 0.03, "interleaved spiral arms, one per class"),
    "moons": (moons, 0.1, "interleaved half circles, one per class (two-moons for k = 2)"),
}
"""name → (generator of clean points from the labels, default noise, description)."""


def make_toy(name: str, *, samples: int = 1000, classes: int = 2, noise: float | None = None,
             seed: int = 0) -> ArrayData:
    """`samples` points of toy set `name`: x (samples, 2) float32, y (samples,) int64 labels in [0, classes).

    Args:
        name: One of `TOYS` (circle, xor, gauss, spiral, moons).
        samples: Number of points. Defaults to 1000.
        classes: Class count k. Defaults to 2.
        noise: Standard deviation of the Gaussian noise on every point. Defaults to the set's own (`TOYS`).
        seed: Generator seed; the same arguments give the same points. Defaults to 0.

    Example:
        >>> d = make_toy("spiral", samples=9, classes=3)
        >>> tuple(d.x.shape), d.y.tolist() == sorted(d.y.tolist()), torch.bincount(d.y).tolist()
        ((9, 2), False, [3, 3, 3])
        >>> torch.equal(d.x, make_toy("spiral", samples=9, classes=3).x)
        True
    """
    generate, default_noise, _ = TOYS[name]
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(samples) % classes  # (n,) balanced
    x = generate(y, classes, g)  # (n, 2)
    x = x + (default_noise if noise is None else noise) * torch.randn(x.shape, generator=g)
    if name == "moons":
        x = _place_moons(x, classes)  # the noise scales with the moons: it is in units of their radius
    order = torch.randperm(samples, generator=g)
    return ArrayData(x[order].float(), y[order])


def parse_toy(name: str, arg: str) -> dict[str, int | float]:
    """The options of `--data NAME:ARG` ("classes=3,noise=0.1") as keyword arguments of `make_toy`, checked.

    Example:
        >>> parse_toy("spiral", "classes=3, noise=0.1")
        {'classes': 3, 'noise': 0.1}
        >>> parse_toy("spiral", "classes=1")
        Traceback (most recent call last):
        zenlearn.errors.UsageError: --data spiral:classes=1: classes must be >= 2, got 1; e.g. --data spiral:classes=3
    """
    where = f"--data {name}:{arg}"
    options: dict[str, int | float] = {}
    for part in filter(None, (p.strip() for p in arg.split(","))):
        key, sep, raw = part.partition("=")
        key = key.strip()
        if not sep:
            raise UsageError(f"{where}: expected KEY=VALUE options, got {part!r}; e.g. --data "
                             f"{name}:classes=3,samples=2000,noise=0.1")
        if key not in OPTIONS:
            raise UsageError(f"{where}: unknown option {key!r}; choose from {', '.join(OPTIONS)}")
        try:
            value = OPTIONS[key](raw.strip())
        except ValueError:
            raise UsageError(f"{where}: {key} expects {'an integer' if OPTIONS[key] is int else 'a number'}, got "
                             f"{raw.strip()!r}") from None
        options[key] = value
    _check(name, where, options)
    return options


def _check(name: str, where: str, o: dict[str, int | float]) -> None:
    k, n, noise = o.get("classes", 2), o.get("samples", 1000), o.get("noise", 0.0)
    if k < 2:
        raise UsageError(f"{where}: classes must be >= 2, got {k}; e.g. --data {name}:classes=3")
    if name == "xor" and k != 2:
        raise UsageError(f"{where}: xor has exactly 2 classes, got classes={k}; circle, gauss, spiral and moons take "
                         f"classes=K")
    if n < MIN_PER_CLASS * k:
        raise UsageError(f"{where}: samples must be >= {MIN_PER_CLASS} per class ({MIN_PER_CLASS * k} for {k} "
                         f"classes), got {n}")
    if not 0 <= noise <= 10:  # also refuses nan
        raise UsageError(f"{where}: noise must be in [0, 10], got {noise}; 0 gives clean points")


def toy_loader(name: str) -> Callable[..., tuple[ArrayData, ArrayData, DataSpec]]:
    """The `DATASETS` loader of toy set `name`: (data_dir, arg) → (train, test, spec), the last fifth the test set."""

    def load(data_dir: Path, arg: str = "") -> tuple[ArrayData, ArrayData, DataSpec]:
        options = parse_toy(name, arg)
        data = make_toy(name, **options)  # type: ignore[arg-type]
        n_test = int(round(len(data) * TEST_FRACTION))
        k = int(options.get("classes", 2))
        spec = DataSpec(name if not arg else f"{name}:{arg}", "classification", (2,), k, [str(c) for c in range(k)],
                        kind="vector")
        cut = torch.arange(len(data) - n_test)
        return data.take(cut), data.take(torch.arange(len(data) - n_test, len(data))), spec

    load.__doc__ = f"`--data {name}[:classes=K,samples=N,noise=S,seed=I]`: {TOYS[name][2]}."
    return load


def plane_extent(*xs: Tensor, margin: float = 0.1) -> list[float]:
    """[x_min, x_max, y_min, y_max] of the 2-D points `xs` (each (N, 2)), widened by `margin` of each side's span
    and rounded outwards to 0.1: the box a decision-boundary map covers (`DataSpec.extent`).

    Example:
        >>> plane_extent(torch.tensor([[0.0, -1.0], [1.0, 1.0]]))
        [-0.1, 1.1, -1.2, 1.2]
    """
    pts = torch.cat([x.reshape(-1, 2).double() for x in xs])  # (N, 2)
    lo, hi = pts.min(0).values, pts.max(0).values
    pad = (hi - lo).clamp_min(1e-6) * margin
    lo, hi = ((lo - pad) * 10).floor() / 10, ((hi + pad) * 10).ceil() / 10
    return [round(float(v), 6) for v in (lo[0], hi[0], lo[1], hi[1])]


def plane_grid(extent: list[float], size: int) -> Tensor:
    """`size` x `size` points covering `extent` ([x_min, x_max, y_min, y_max]), as model inputs (size * size, 2) in
    image order: row 0 is the top (y_max), each row runs from x_min to x_max. `outputs.view(size, size, -1)` is
    then the boundary map as an image.

    Example:
        >>> plane_grid([0.0, 1.0, 0.0, 1.0], 2).tolist()
        [[0.0, 1.0], [1.0, 1.0], [0.0, 0.0], [1.0, 0.0]]
    """
    x0, x1, y0, y1 = extent
    xs = torch.linspace(x0, x1, size)  # (S,)
    ys = torch.linspace(y1, y0, size)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")  # (S, S) each
    return torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)  # (S*S, 2)
