"""MNIST-1D (Greydanus, "Scaling down deep learning", 2020), generated locally with no download.

A port of the reference generator (github.com/greydanus/mnist1d, Apache-2.0, `mnist1d.data.make_dataset`
with `get_dataset_args()`) to plain numpy: ten 12-point digit templates are padded, dilated, scaled,
translated, given correlated and i.i.d. noise, sheared and resampled to 40 points. With the reference
arguments and seed 42 it reproduces the published `mnist1d_data.pkl` (4000 train / 1000 test); the test
suite checks that against the file. The random calls are made in exactly the reference's order.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

from zenlearn.data.arrays import ArrayData, DataSpec
from zenlearn.errors import UsageError
from zenlearn.io.safe_pickle import load_pickle


@dataclass(frozen=True)
class MNIST1DArgs:
    """The generator's arguments; the defaults are the published dataset's (`get_dataset_args()`)."""

    num_samples: int = 5000
    train_split: float = 0.8
    template_len: int = 12
    padding: tuple[int, int] = (36, 60)
    scale_coeff: float = 0.4
    max_translation: int = 48
    corr_noise_scale: float = 0.25
    iid_noise_scale: float = 2e-2
    shear_scale: float = 0.75
    shuffle_seq: bool = False
    final_seq_length: int = 40
    seed: int = 42


def templates() -> dict[str, np.ndarray]:
    """The ten digit templates (10, 12), their time axis `t` (12,) and labels `y` (10,)."""
    d = np.asarray([
        [5, 6, 6.5, 6.75, 7, 7, 7, 7, 6.75, 6.5, 6, 5],
        [5, 3, 3, 3.4, 3.8, 4.2, 4.6, 5, 5.4, 5.8, 5, 5],
        [5, 6, 6.5, 6.5, 6, 5.25, 4.75, 4, 3.5, 3.5, 4, 5],
        [5, 6, 6.5, 6.5, 6, 5, 5, 6, 6.5, 6.5, 6, 5],
        [5, 4.4, 3.8, 3.2, 2.6, 2.6, 5, 5, 5, 5, 5, 5],
        [5, 3, 3, 3, 3, 5, 6, 6.5, 6.5, 6, 4.5, 5],
        [5, 4, 3.5, 3.25, 3, 3, 3, 3, 3.25, 3.5, 4, 5],
        [5, 7, 7, 6.6, 6.2, 5.8, 5.4, 5, 4.6, 4.2, 5, 5],
        [5, 4, 3.5, 3.5, 4, 5, 5, 4, 3.5, 3.5, 4, 5],
        [5, 4, 3.5, 3.5, 4, 5, 5, 5, 5, 4.7, 4.3, 5],
    ])
    d -= d.mean(1, keepdims=True)  # whiten
    d /= d.std(1, keepdims=True)
    d -= d[:, :1]  # signal starts and ends at 0
    return {"x": d / 6.0, "t": np.linspace(-5, 5, d.shape[1]) / 6.0, "y": np.arange(10)}


def _interpolate(x: np.ndarray, n: int) -> np.ndarray:
    """Linear resampling of `x` to `n` points (scipy `interp1d(kind="linear")` on [0, 1])."""
    old, new = np.linspace(0, 1, len(x)), np.linspace(0, 1, n)
    # Same arithmetic as scipy's interp1d: slope * (x_new - x_lo) + y_lo on the left-closed interval.
    lo = np.clip(np.searchsorted(old, new, side="left") - 1, 0, len(x) - 2)
    slope = (x[lo + 1] - x[lo]) / (old[lo + 1] - old[lo])
    return slope * (new - old[lo]) + x[lo]


def _gaussian_filter(x: np.ndarray, sigma: float) -> np.ndarray:
    """scipy.ndimage.gaussian_filter for a 1-D signal (truncate 4, mode "reflect")."""
    radius = int(4.0 * sigma + 0.5)
    k = np.exp(-0.5 / sigma**2 * np.arange(-radius, radius + 1) ** 2)
    k /= k.sum()
    padded = np.pad(x, radius, mode="symmetric")  # scipy's "reflect" repeats the edge sample
    return np.correlate(padded, k, mode="valid")


def _transform(x: np.ndarray, t: np.ndarray, a: MNIST1DArgs, rng: np.random.RandomState,
               eps: float = 1e-8) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = a.padding
    p = lo + int(rng.rand() * (hi - lo + 1))
    new_x = np.concatenate([x + eps, np.zeros(p)])  # pad
    new_x = _interpolate(new_x, a.template_len + hi)  # dilate
    new_t = _interpolate(t, a.template_len + hi)
    new_x = new_x * (1 + a.scale_coeff * (rng.rand() - 0.5))  # scale
    k = rng.choice(a.max_translation)
    new_x = np.concatenate([new_x[-k:], new_x[:-k]])  # translate
    mask = new_x != 0
    corr = _gaussian_filter(a.corr_noise_scale * rng.randn(*new_x.shape), 2)
    new_x = mask * new_x + (1 - mask) * corr  # correlated noise where there is no signal
    new_x = new_x + a.iid_noise_scale * rng.randn(*new_x.shape)
    new_x = new_x - a.shear_scale * (rng.rand() - 0.5) * np.linspace(-0.5, 0.5, len(new_x))  # shear
    return _interpolate(new_x, a.final_seq_length), _interpolate(new_t, a.final_seq_length)


def make_mnist1d(args: MNIST1DArgs = MNIST1DArgs()) -> dict[str, Any]:
    """Generate MNIST-1D: a dict with `x` (N_train, 40), `y`, `x_test`, `y_test`, `t` and `templates`.

    Args:
        args: Generator arguments. Defaults to the published dataset's.

    Example:
        >>> d = make_mnist1d()
        >>> d["x"].shape, d["x_test"].shape
        ((4000, 40), (1000, 40))
    """
    tpl = templates()
    rng = np.random.RandomState(args.seed)
    xs, ys = [], []
    per_class = args.num_samples // len(tpl["y"])
    for label in range(len(tpl["y"])):
        for _ in range(per_class):
            x, new_t = _transform(tpl["x"][label], tpl["t"], args, rng)
            xs.append(x)
            ys.append(tpl["y"][label])
    order = rng.permutation(len(ys))
    xs_a, ys_a = np.stack(xs)[order], np.stack(ys)[order]
    if args.shuffle_seq:
        xs_a = xs_a[..., rng.permutation(args.final_seq_length)]
    new_t = new_t / xs_a.std()
    xs_a = (xs_a - xs_a.mean()) / xs_a.std()  # centre, unit standard deviation
    cut = int(len(ys_a) * args.train_split)
    return {"x": xs_a[:cut], "x_test": xs_a[cut:], "y": ys_a[:cut], "y_test": ys_a[cut:], "t": new_t,
            "templates": tpl}


def load_mnist1d_pickle(path: str | Path) -> dict[str, Any]:
    """Read the published `mnist1d_data.pkl` with `safe_pickle.load_pickle`: numpy arrays only, no code runs.

    A file that names any other global is refused with a `UsageError`.

    Example:
        >>> import pickle
        >>> from zenlearn.io.atomic import write_bytes
        >>> write_bytes(tmp / "d.pkl", pickle.dumps({"x": np.zeros((4000, 40)), "y": np.zeros(4000)}))
        >>> load_mnist1d_pickle(tmp / "d.pkl")["x"].shape
        (4000, 40)
    """

    return load_pickle(path)


@lru_cache(maxsize=1)
def _cached() -> tuple[ArrayData, ArrayData]:
    d = make_mnist1d()
    to_x = lambda a: torch.from_numpy(a.astype(np.float32)).unsqueeze(-1)  # noqa: E731 - (N, 40) -> (N, 40, 1)
    return (ArrayData(to_x(d["x"]), torch.from_numpy(d["y"]).long()),
            ArrayData(to_x(d["x_test"]), torch.from_numpy(d["y_test"]).long()))


def mnist1d(data_dir: Path, arg: str = "") -> tuple[ArrayData, ArrayData, DataSpec]:
    """MNIST-1D as (40, 1) float sequences; generated in memory (about a second), no files needed."""
    if arg:
        raise UsageError(f"dataset 'mnist1d' takes no argument, got 'mnist1d:{arg}'")
    train, test = _cached()
    spec = DataSpec("mnist1d", "classification", (40, 1), 10, [str(i) for i in range(10)], kind="sequence")
    return train, test, spec
