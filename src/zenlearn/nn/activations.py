"""Activation functions by name (`ACTIVATIONS`), as `nn.Module` factories usable in any model.

Each entry's `ActivationInfo.params` maps a config option (`negative_slope`, `elu_alpha`) to the keyword
of the module it configures, so one set of options can serve every activation.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from torch import Tensor, nn

from zenlearn.registry import Registry


@dataclass(frozen=True)
class ActivationInfo:
    """Config option → (the module's keyword, its default), for activations that take parameters."""

    params: dict[str, tuple[str, Any]] = field(default_factory=dict)

    def listing(self) -> dict[str, Any]:
        return {opt: default for opt, (_, default) in self.params.items()}


ACTIVATIONS: Registry[Callable[..., nn.Module]] = Registry("activation")
ACTIVATIONS.add("sigmoid", nn.Sigmoid, "1 / (1 + exp(-x)); saturates, gradients vanish in deep nets")
ACTIVATIONS.add("tanh", nn.Tanh, "zero-centred sigmoid in (-1, 1); still saturates")
ACTIVATIONS.add("relu", nn.ReLU, "max(0, x); cheap, no saturation for x > 0, can die")
ACTIVATIONS.add("leaky_relu", nn.LeakyReLU, "x if x > 0 else slope*x; keeps a gradient for x < 0",
                aliases=("leaky-relu", "lrelu"), info=ActivationInfo({"negative_slope": ("negative_slope", 0.01)}))
ACTIVATIONS.add("elu", nn.ELU, "x if x > 0 else alpha*(exp(x)-1); smooth, mean activations near zero",
                info=ActivationInfo({"elu_alpha": ("alpha", 1.0)}))
ACTIVATIONS.add("gelu", nn.GELU, "x * Phi(x); smooth ReLU used by transformers")
ACTIVATIONS.add("silu", nn.SiLU, "x * sigmoid(x) (swish)", aliases=("swish",))
ACTIVATIONS.add("selu", nn.SELU, "scaled ELU; self-normalizing with LeCun init")
ACTIVATIONS.add("softplus", nn.Softplus, "log(1 + exp(x)); smooth approximation of ReLU")
ACTIVATIONS.add("mish", nn.Mish, "x * tanh(softplus(x))")
ACTIVATIONS.add("identity", nn.Identity, "x; no non-linearity (a linear model)", aliases=("linear", "none"))


def get_activation(spec: str | nn.Module | Callable[..., nn.Module], **params: Any) -> nn.Module:
    """A fresh activation module from a name (with its parameters), a module, or a module factory.

    Args:
        spec: Registered name ("elu"), an `nn.Module` (returned as is) or a class/factory.
        **params: Config options of the named activation (`negative_slope` for leaky_relu, `elu_alpha`
            for elu); options another activation takes are ignored, so one config serves every
            activation. Defaults to each activation's own defaults.

    Example:
        >>> get_activation("leaky_relu", negative_slope=0.2)
        LeakyReLU(negative_slope=0.2)
        >>> get_activation("elu", elu_alpha=0.5)
        ELU(alpha=0.5)
    """
    if isinstance(spec, nn.Module):
        return spec
    if isinstance(spec, str):
        entry = ACTIVATIONS.entry(spec)
        takes = entry.info.params if entry.info is not None else {}
        kwargs = {kw: params[opt] for opt, (kw, _) in takes.items() if params.get(opt) is not None}
        return entry.obj(**kwargs)
    return spec()


def value_and_derivative(fn: nn.Module, x: Tensor) -> tuple[Tensor, Tensor]:
    """f(x) and f'(x) elementwise for a 1-D grid `x`, by autograd (exact for elementwise activations)."""
    x = x.detach().clone().requires_grad_(True)
    y = fn(x)
    (dy,) = torch.autograd.grad(y.sum(), x)
    return y.detach(), dy.detach()


def plot_activations(path: str | Path, names: list[str] | None = None, *, lo: float = -4.0, hi: float = 4.0,
                     **params: Any) -> Path:
    """Write a PNG with one panel per activation: the function and its derivative on [lo, hi].

    Args:
        path: Output PNG file (written atomically).
        names: Activations to draw. Defaults to every registered one.
        lo: Left end of the x range. Defaults to -4.
        hi: Right end of the x range. Defaults to 4.
        **params: Activation options (`negative_slope`, `elu_alpha`). Defaults to each one's default.

    Example:
        >>> plot_activations("activations.png", ["relu", "elu"], elu_alpha=0.5)  # doctest: +SKIP
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from zenlearn.io.atomic import write_bytes

    names = names or ACTIVATIONS.names()
    x = torch.linspace(lo, hi, 801)
    cols = min(4, len(names))
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False)
    for ax in axes.flat[len(names):]:
        ax.axis("off")
    for ax, name in zip(axes.flat, names):
        fn = get_activation(name, **params)
        y, dy = value_and_derivative(fn, x)
        ax.axhline(0, color="0.85", lw=0.8)
        ax.axvline(0, color="0.85", lw=0.8)
        ax.plot(x, y, label="f(x)", lw=1.8)
        ax.plot(x, dy, label="f'(x)", lw=1.4, ls="--")
        ax.set_title(repr(fn) if ACTIVATIONS.entry(name).info else name, fontsize=9)
        ax.set_xlim(lo, hi)
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    path = Path(path)
    write_bytes(path, buf.getvalue())
    return path
