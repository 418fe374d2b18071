"""Activation functions by name (`ACTIVATIONS`), as `nn.Module` factories usable in any model.

Each entry's `ActivationInfo.params` maps a config option (`negative_slope`, `elu_alpha`) to the keyword
of the module it configures, so one set of options can serve every activation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import Tensor, nn

from zenlearn.errors import UsageError
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


def layer_activations(spec: Any, layers: int) -> list[Any]:
    """One activation per hidden layer: `spec` for every layer, or, for comma-separated names ("relu,tanh"), one
    name a layer (the mlp's `--activation relu,tanh,sigmoid` with three `--hidden` sizes).

    Example:
        >>> layer_activations("relu", 2), layer_activations("relu, tanh", 2)
        (['relu', 'relu'], ['relu', 'tanh'])
    """
    names = [n.strip() for n in spec.split(",")] if isinstance(spec, str) and "," in spec else None
    if names is None:
        return [spec] * layers
    if len(names) != layers:
        raise UsageError(f"--activation lists {len(names)} activations for {layers} hidden layers; give one "
                         f"activation, or one per --hidden size")
    return names


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
