"""`sine`: the survey's RNN example as a task — per-step regression on short two-feature sequences.

The survey's TensorFlow 1 example unrolls a recurrent layer over `n_steps` = 5 steps of `n_inputs` = 2
features and puts a dense layer on every step's output, trained with MSE. Here each sequence is a sine
wave with random amplitude A ~ U(0.5, 1.5), angular frequency w ~ U(0.3, 0.9) rad/step and phase:

    inputs  x[k] = (A sin(w k + phi), A cos(w k + phi)) + N(0, 0.02^2) noise,  k = 0 … n_steps-1
    target  y[k] = A sin(w (k + 1) + phi)                      (the next value of the wave)

Predicting y[k] needs w, which only the sequence so far reveals, so a model has to carry state. The
trivial baseline (always predicting the training mean) has an MSE of about E[A^2] / 2 ≈ 0.54.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import torch

from zenlearn.data.arrays import ArrayData, DataSpec
from zenlearn.errors import UsageError

N_TRAIN, N_TEST = 10_000, 2_000
N_STEPS, N_INPUTS = 5, 2


def make_sine(n: int, seed: int, n_steps: int = N_STEPS, noise: float = 0.02) -> ArrayData:
    """`n` sequences: inputs (n, n_steps, 2) and next-value targets (n, n_steps, 1), float32.

    Args:
        n: Number of sequences.
        seed: Generator seed (the same seed gives the same data).
        n_steps: Time steps per sequence. Defaults to 5.
        noise: Standard deviation of the input noise. Defaults to 0.02.

    Example:
        >>> d = make_sine(8, seed=0)
        >>> tuple(d.x.shape), tuple(d.y.shape)
        ((8, 5, 2), (8, 5, 1))
    """
    g = torch.Generator().manual_seed(seed)
    amp = 0.5 + torch.rand(n, 1, generator=g)  # (n, 1)
    omega = 0.3 + 0.6 * torch.rand(n, 1, generator=g)
    phase = 2 * math.pi * torch.rand(n, 1, generator=g)
    k = torch.arange(n_steps + 1, dtype=torch.float32)  # (T+1,)
    angle = omega * k + phase  # (n, T+1)
    x = torch.stack([amp * angle[:, :-1].sin(), amp * angle[:, :-1].cos()], -1)  # (n, T, 2)
    x = x + noise * torch.randn(x.shape, generator=g)
    y = (amp * angle[:, 1:].sin()).unsqueeze(-1)  # (n, T, 1)
    return ArrayData(x, y)


@lru_cache(maxsize=1)
def _cached() -> tuple[ArrayData, ArrayData]:
    return make_sine(N_TRAIN, seed=0), make_sine(N_TEST, seed=1)


def sine(data_dir: Path, arg: str = "") -> tuple[ArrayData, ArrayData, DataSpec]:
    """The `sine` task: 10,000 train / 2,000 test sequences of 5 steps x 2 features, 1 target per step."""
    if arg:
        raise UsageError(f"dataset 'sine' takes no argument, got 'sine:{arg}'")
    train, test = _cached()
    spec = DataSpec("sine", "regression", (N_STEPS, N_INPUTS), 1, kind="sequence", per_step=True)
    return train, test, spec
